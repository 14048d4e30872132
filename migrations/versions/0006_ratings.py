"""ratings: ratings of finished orders and the follow-ups of low ratings

Revision ID: 0006_ratings
Revises: 0005_attachments
Create Date: 2026-11-24

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0006_ratings'
down_revision: str | Sequence[str] | None = '0005_attachments'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_type', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('stars', sa.SmallInteger(), nullable=False),
    sa.Column('tags', postgresql.ARRAY(sa.String(length=20)), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('anonymous', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('content_check', sa.String(length=10), nullable=True),
    sa.Column('edit_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('stars BETWEEN 1 AND 5', name=op.f('ck_rating_stars')),
    sa.CheckConstraint('edit_count >= 0', name=op.f('ck_rating_edit_count')),
    sa.CheckConstraint('stars > 2 OR comment IS NOT NULL', name=op.f('ck_rating_low_comment')),
    sa.CheckConstraint("content_check IN ('pass', 'review', 'skipped')", name=op.f('ck_rating_content_check')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_rating_company_id_company'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_rating_user_id_app_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating')),
    sa.UniqueConstraint('service_type', 'order_id', name=op.f('uq_rating_service_type_order_id'))
    )
    op.create_index('ix_rating_company_id_created_at', 'rating', ['company_id', 'created_at'], unique=False)
    op.create_index('ix_rating_created_at', 'rating', ['created_at'], unique=False)
    op.create_index('ix_rating_user_id_id', 'rating', ['user_id', 'id'], unique=False)
    op.create_table('rating_followup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), server_default='open', nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('action_taken', sa.String(length=1000), nullable=True),
    sa.Column('reply', sa.String(length=1000), nullable=True),
    sa.Column('handler_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('open', 'in_progress', 'closed')", name=op.f('ck_rating_followup_status')),
    sa.CheckConstraint("status <> 'closed' OR (action_taken IS NOT NULL AND reply IS NOT NULL AND closed_at IS NOT NULL)", name=op.f('ck_rating_followup_closed_answered')),
    sa.ForeignKeyConstraint(['handler_id'], ['app_user.id'], name=op.f('fk_rating_followup_handler_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rating_id'], ['rating.id'], name=op.f('fk_rating_followup_rating_id_rating'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_rating_followup_user_id_app_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating_followup')),
    sa.UniqueConstraint('rating_id', name=op.f('uq_rating_followup_rating_id'))
    )
    op.create_index('ix_rating_followup_status_due_at', 'rating_followup', ['status', 'due_at'], unique=False)
    op.create_index(op.f('ix_rating_followup_user_id'), 'rating_followup', ['user_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_rating_followup_user_id'), table_name='rating_followup')
    op.drop_index('ix_rating_followup_status_due_at', table_name='rating_followup')
    op.drop_table('rating_followup')
    op.drop_index('ix_rating_user_id_id', table_name='rating')
    op.drop_index('ix_rating_created_at', table_name='rating')
    op.drop_index('ix_rating_company_id_created_at', table_name='rating')
    op.drop_table('rating')
