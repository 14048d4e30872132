"""visitors: applications (invitation, request, walk-in) with their visits, companions,
privacy-notice consents, the blacklist; the id_verifier role

Revision ID: 0010_visitors
Revises: 0009_rooms
Create Date: 2026-11-24 04:38:10.937128

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0010_visitors'
down_revision: str | Sequence[str] | None = '0009_rooms'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = ("role IN ('staff', 'visitor', 'canteen_manager', 'canteen_staff', 'property_dispatcher', "
             "'technician', 'guard', 'room_approver', 'admin', 'auditor')")
NEW_ROLES = ("role IN ('staff', 'visitor', 'canteen_manager', 'canteen_staff', 'property_dispatcher', "
             "'technician', 'guard', 'room_approver', 'id_verifier', 'admin', 'auditor')")


def _roles(check: str) -> None:
    for table in ("role_grant", "invite_code"):
        op.drop_constraint(op.f(f'ck_{table}_role'), table, type_='check')
        op.create_check_constraint(op.f(f'ck_{table}_role'), table, check)


def upgrade() -> None:
    """Upgrade schema."""
    _roles(NEW_ROLES)
    op.create_table('visitor_blacklist',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('id_bidx', sa.String(length=64), nullable=True),
    sa.Column('id_masked', sa.String(length=32), nullable=True),
    sa.Column('phone_bidx', sa.String(length=64), nullable=True),
    sa.Column('phone_masked', sa.String(length=20), nullable=True),
    sa.Column('name', sa.String(length=50), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("btrim(note) <> ''", name=op.f('ck_visitor_blacklist_note')),
    sa.CheckConstraint('id_bidx IS NOT NULL OR phone_bidx IS NOT NULL OR name IS NOT NULL', name=op.f('ck_visitor_blacklist_what')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_visitor_blacklist_created_by_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visitor_blacklist'))
    )
    op.create_index(op.f('ix_visitor_blacklist_id_bidx'), 'visitor_blacklist', ['id_bidx'], unique=False, postgresql_where=sa.text('is_active'))
    op.create_index(op.f('ix_visitor_blacklist_name'), 'visitor_blacklist', ['name'], unique=False, postgresql_where=sa.text('is_active'))
    op.create_index(op.f('ix_visitor_blacklist_phone_bidx'), 'visitor_blacklist', ['phone_bidx'], unique=False, postgresql_where=sa.text('is_active'))
    op.create_table('visitor_consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('notice_version', sa.String(length=20), nullable=False),
    sa.Column('consented_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('user_id IS NOT NULL OR recorded_by_id IS NOT NULL', name=op.f('ck_visitor_consent_who')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['app_user.id'], name=op.f('fk_visitor_consent_recorded_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_visitor_consent_user_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visitor_consent'))
    )
    op.create_index(op.f('ix_visitor_consent_user_id_notice_version'), 'visitor_consent', ['user_id', 'notice_version'], unique=False)
    op.create_table('visit_application',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('host_id', sa.Integer(), nullable=False),
    sa.Column('host_department_id', sa.Integer(), nullable=True),
    sa.Column('visitor_user_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('invitation_hash', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=50), nullable=True),
    sa.Column('phone_enc', sa.String(length=200), nullable=True),
    sa.Column('phone_bidx', sa.String(length=64), nullable=True),
    sa.Column('phone_masked', sa.String(length=20), nullable=True),
    sa.Column('id_type', sa.String(length=20), nullable=True),
    sa.Column('id_number_enc', sa.String(length=200), nullable=True),
    sa.Column('id_bidx', sa.String(length=64), nullable=True),
    sa.Column('id_masked', sa.String(length=32), nullable=True),
    sa.Column('consent_id', sa.Integer(), nullable=True),
    sa.Column('company', sa.String(length=100), nullable=True),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=True),
    sa.Column('room_booking_id', sa.Integer(), nullable=True),
    sa.Column('companion_count', sa.SmallInteger(), server_default='0', nullable=False),
    sa.Column('recurrence', sa.String(length=16), nullable=True),
    sa.Column('held_reason', sa.String(length=200), nullable=True),
    sa.Column('decision_reason', sa.String(length=200), nullable=True),
    sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("id_type IN ('resident_id', 'passport', 'hk_macao_permit', 'taiwan_permit')", name=op.f('ck_visit_application_id_type')),
    sa.CheckConstraint("recurrence IS NULL OR recurrence IN ('weekly')", name=op.f('ck_visit_application_recurrence')),
    sa.CheckConstraint("source IN ('invitation', 'application', 'walk_in')", name=op.f('ck_visit_application_source')),
    sa.CheckConstraint('(id_number_enc IS NULL) = (id_type IS NULL AND id_bidx IS NULL AND id_masked IS NULL)', name=op.f('ck_visit_application_id_parts')),
    sa.CheckConstraint('companion_count >= 0', name=op.f('ck_visit_application_companion_count')),
    sa.CheckConstraint('id_number_enc IS NULL OR consent_id IS NOT NULL', name=op.f('ck_visit_application_consent')),
    sa.ForeignKeyConstraint(['consent_id'], ['visitor_consent.id'], name=op.f('fk_visit_application_consent_id_visitor_consent'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_visit_application_created_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['host_department_id'], ['department.id'], name=op.f('fk_visit_application_host_department_id_department'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['host_id'], ['app_user.id'], name=op.f('fk_visit_application_host_id_app_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['room_booking_id'], ['room_booking.id'], name=op.f('fk_visit_application_room_booking_id_room_booking'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['visitor_user_id'], ['app_user.id'], name=op.f('fk_visit_application_visitor_user_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_application')),
    sa.UniqueConstraint('invitation_hash', name=op.f('uq_visit_application_invitation_hash'))
    )
    op.create_index(op.f('ix_visit_application_host_department_id'), 'visit_application', ['host_department_id'], unique=False)
    op.create_index(op.f('ix_visit_application_host_id_created_at'), 'visit_application', ['host_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_visit_application_id_bidx'), 'visit_application', ['id_bidx'], unique=False)
    op.create_index(op.f('ix_visit_application_phone_bidx'), 'visit_application', ['phone_bidx'], unique=False)
    op.create_index(op.f('ix_visit_application_room_booking_id'), 'visit_application', ['room_booking_id'], unique=False)
    op.create_index(op.f('ix_visit_application_visitor_user_id_created_at'), 'visit_application', ['visitor_user_id', 'created_at'], unique=False)
    op.create_table('visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('host_id', sa.Integer(), nullable=False),
    sa.Column('host_department_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_in_by_id', sa.Integer(), nullable=True),
    sa.Column('checked_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_out_by_id', sa.Integer(), nullable=True),
    sa.Column('overstay_flagged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('invited', 'pending', 'held', 'approved', 'inside', 'left', 'rejected', 'cancelled', 'expired')", name=op.f('ck_visit_status')),
    sa.CheckConstraint('checked_out_at IS NULL OR checked_in_at IS NOT NULL', name=op.f('ck_visit_checked_out')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_visit_window')),
    sa.ForeignKeyConstraint(['application_id'], ['visit_application.id'], name=op.f('fk_visit_application_id_visit_application'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['checked_in_by_id'], ['app_user.id'], name=op.f('fk_visit_checked_in_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['checked_out_by_id'], ['app_user.id'], name=op.f('fk_visit_checked_out_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['host_department_id'], ['department.id'], name=op.f('fk_visit_host_department_id_department'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['host_id'], ['app_user.id'], name=op.f('fk_visit_host_id_app_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_visit_user_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit'))
    )
    op.create_index(op.f('ix_visit_application_id'), 'visit', ['application_id'], unique=False)
    op.create_index(op.f('ix_visit_host_id_starts_at'), 'visit', ['host_id', 'starts_at'], unique=False)
    op.create_index(op.f('ix_visit_status_starts_at'), 'visit', ['status', 'starts_at'], unique=False)
    op.create_index(op.f('ix_visit_user_id_starts_at'), 'visit', ['user_id', 'starts_at'], unique=False)
    op.create_table('visit_companion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('id_type', sa.String(length=20), nullable=False),
    sa.Column('id_number_enc', sa.String(length=200), nullable=False),
    sa.Column('id_bidx', sa.String(length=64), nullable=False),
    sa.Column('id_masked', sa.String(length=32), nullable=False),
    sa.CheckConstraint("id_type IN ('resident_id', 'passport', 'hk_macao_permit', 'taiwan_permit')", name=op.f('ck_visit_companion_id_type')),
    sa.ForeignKeyConstraint(['application_id'], ['visit_application.id'], name=op.f('fk_visit_companion_application_id_visit_application'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_companion'))
    )
    op.create_index(op.f('ix_visit_companion_application_id'), 'visit_companion', ['application_id'], unique=False)
    op.create_index(op.f('ix_visit_companion_id_bidx'), 'visit_companion', ['id_bidx'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DELETE FROM role_grant WHERE role = 'id_verifier'")
    op.execute("DELETE FROM invite_code WHERE role = 'id_verifier'")
    op.drop_index(op.f('ix_visit_companion_id_bidx'), table_name='visit_companion')
    op.drop_index(op.f('ix_visit_companion_application_id'), table_name='visit_companion')
    op.drop_table('visit_companion')
    op.drop_index(op.f('ix_visit_user_id_starts_at'), table_name='visit')
    op.drop_index(op.f('ix_visit_status_starts_at'), table_name='visit')
    op.drop_index(op.f('ix_visit_host_id_starts_at'), table_name='visit')
    op.drop_index(op.f('ix_visit_application_id'), table_name='visit')
    op.drop_table('visit')
    op.drop_index(op.f('ix_visit_application_visitor_user_id_created_at'), table_name='visit_application')
    op.drop_index(op.f('ix_visit_application_room_booking_id'), table_name='visit_application')
    op.drop_index(op.f('ix_visit_application_phone_bidx'), table_name='visit_application')
    op.drop_index(op.f('ix_visit_application_id_bidx'), table_name='visit_application')
    op.drop_index(op.f('ix_visit_application_host_id_created_at'), table_name='visit_application')
    op.drop_index(op.f('ix_visit_application_host_department_id'), table_name='visit_application')
    op.drop_table('visit_application')
    op.drop_index(op.f('ix_visitor_consent_user_id_notice_version'), table_name='visitor_consent')
    op.drop_table('visitor_consent')
    op.drop_index(op.f('ix_visitor_blacklist_phone_bidx'), table_name='visitor_blacklist', postgresql_where=sa.text('is_active'))
    op.drop_index(op.f('ix_visitor_blacklist_name'), table_name='visitor_blacklist', postgresql_where=sa.text('is_active'))
    op.drop_index(op.f('ix_visitor_blacklist_id_bidx'), table_name='visitor_blacklist', postgresql_where=sa.text('is_active'))
    op.drop_table('visitor_blacklist')
    _roles(OLD_ROLES)
