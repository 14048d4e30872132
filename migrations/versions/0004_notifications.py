"""notifications: in-app messages, subscribe-message outbox, consents

Revision ID: 0004_notify
Revises: 0003_places
Create Date: 2026-11-23 15:58:40.538985

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0004_notify'
down_revision: str | Sequence[str] | None = '0003_places'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('notification_consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('remaining', sa.Integer(), server_default='0', nullable=False),
    sa.Column('long_term', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('remaining >= 0', name=op.f('ck_notification_consent_remaining')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_notification_consent_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_consent')),
    sa.UniqueConstraint('user_id', 'template', name=op.f('uq_notification_consent_user_id_template'))
    )
    op.create_table('notification_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), server_default='', nullable=False),
    sa.Column('page', sa.String(length=255), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_notification_message_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_message'))
    )
    op.create_index('ix_notification_message_unread', 'notification_message', ['user_id'], unique=False, postgresql_where=sa.text('read_at IS NULL'))
    op.create_index('ix_notification_message_user_id_id', 'notification_message', ['user_id', 'id'], unique=False)
    op.create_table('notification_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('template_id', sa.String(length=128), nullable=False),
    sa.Column('long_term', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('openid', sa.String(length=128), nullable=False),
    sa.Column('page', sa.String(length=255), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='queued', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('consent_used', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('msgid', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed', 'unknown', 'consent_exhausted')", name=op.f('ck_notification_outbox_status')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_notification_outbox_attempts')),
    sa.ForeignKeyConstraint(['message_id'], ['notification_message.id'], name=op.f('fk_notification_outbox_message_id_notification_message'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_notification_outbox_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_outbox'))
    )
    op.create_index('ix_notification_outbox_due', 'notification_outbox', ['next_attempt_at'], unique=False, postgresql_where=sa.text("status IN ('queued', 'failed')"))
    op.create_index(op.f('ix_notification_outbox_message_id'), 'notification_outbox', ['message_id'], unique=False)
    op.create_index('ix_notification_outbox_sending', 'notification_outbox', ['claimed_at'], unique=False, postgresql_where=sa.text("status = 'sending'"))
    op.create_index(op.f('ix_notification_outbox_user_id'), 'notification_outbox', ['user_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_notification_outbox_user_id'), table_name='notification_outbox')
    op.drop_index('ix_notification_outbox_sending', table_name='notification_outbox', postgresql_where=sa.text("status = 'sending'"))
    op.drop_index(op.f('ix_notification_outbox_message_id'), table_name='notification_outbox')
    op.drop_index('ix_notification_outbox_due', table_name='notification_outbox', postgresql_where=sa.text("status IN ('queued', 'failed')"))
    op.drop_table('notification_outbox')
    op.drop_index('ix_notification_message_user_id_id', table_name='notification_message')
    op.drop_index('ix_notification_message_unread', table_name='notification_message', postgresql_where=sa.text('read_at IS NULL'))
    op.drop_table('notification_message')
    op.drop_table('notification_consent')
