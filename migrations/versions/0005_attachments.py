"""attachments: uploaded photos (EXIF stripped, content-addressed files), bound to orders

Revision ID: 0005_attachments
Revises: 0004_notify
Create Date: 2026-11-23 18:30:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0005_attachments'
down_revision: str | Sequence[str] | None = '0004_notify'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uploader_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('thumbnail_sha256', sa.String(length=64), nullable=False),
    sa.Column('thumbnail_size', sa.Integer(), nullable=False),
    sa.Column('security_verdict', sa.String(length=16), nullable=False),
    sa.Column('order_type', sa.String(length=32), nullable=True),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('bound_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("content_type IN ('image/jpeg', 'image/png', 'image/webp')", name=op.f('ck_attachment_content_type')),
    sa.CheckConstraint("purpose IN ('checkin', 'repair', 'completion', 'suggestion')", name=op.f('ck_attachment_purpose')),
    sa.CheckConstraint("security_verdict IN ('pass', 'review', 'skipped')", name=op.f('ck_attachment_security_verdict')),
    sa.CheckConstraint('(order_type IS NULL) = (order_id IS NULL) AND (order_id IS NULL) = (bound_at IS NULL)', name=op.f('ck_attachment_binding')),
    sa.CheckConstraint('size > 0 AND width > 0 AND height > 0 AND thumbnail_size > 0', name=op.f('ck_attachment_dimensions')),
    sa.ForeignKeyConstraint(['uploader_id'], ['app_user.id'], name=op.f('fk_attachment_uploader_id_app_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment'))
    )
    op.create_index('ix_attachment_order', 'attachment', ['order_type', 'order_id'], unique=False, postgresql_where=sa.text('order_id IS NOT NULL'))
    op.create_index(op.f('ix_attachment_sha256'), 'attachment', ['sha256'], unique=False)
    op.create_index(op.f('ix_attachment_thumbnail_sha256'), 'attachment', ['thumbnail_sha256'], unique=False)
    op.create_index('ix_attachment_unbound', 'attachment', ['created_at'], unique=False, postgresql_where=sa.text('order_id IS NULL'))
    op.create_index(op.f('ix_attachment_uploader_id'), 'attachment', ['uploader_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_attachment_uploader_id'), table_name='attachment')
    op.drop_index('ix_attachment_unbound', table_name='attachment', postgresql_where=sa.text('order_id IS NULL'))
    op.drop_index(op.f('ix_attachment_thumbnail_sha256'), table_name='attachment')
    op.drop_index(op.f('ix_attachment_sha256'), table_name='attachment')
    op.drop_index('ix_attachment_order', table_name='attachment', postgresql_where=sa.text('order_id IS NOT NULL'))
    op.drop_table('attachment')
