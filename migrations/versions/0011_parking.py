"""parking: lots, numbered spaces, vehicles, reservations, draws, gate keys, nonces and
events, occupancy and its corrections, the whitelist change log

Revision ID: 0011_parking
Revises: 0010_visitors
Create Date: 2026-11-24 05:01:48.557848

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0011_parking'
down_revision: str | Sequence[str] | None = '0010_visitors'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('parking_lot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('mode', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('staff_capacity', sa.Integer(), server_default='0', nullable=False),
    sa.Column('visitor_capacity', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ev_capacity', sa.Integer(), server_default='0', nullable=False),
    sa.Column('accessible_capacity', sa.Integer(), server_default='0', nullable=False),
    sa.Column('grace_minutes', sa.SmallInteger(), server_default='30', nullable=False),
    sa.Column('draw_at', sa.Time(), server_default=sa.text("'18:00'"), nullable=False),
    sa.Column('am_ends_at', sa.Time(), server_default=sa.text("'12:30'"), nullable=False),
    sa.Column('opens_at', sa.Time(), server_default=sa.text("'07:00'"), nullable=False),
    sa.Column('closes_at', sa.Time(), server_default=sa.text("'20:00'"), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("mode IN ('open', 'reservation')", name=op.f('ck_parking_lot_mode')),
    sa.CheckConstraint('grace_minutes BETWEEN 0 AND 240', name=op.f('ck_parking_lot_grace_minutes')),
    sa.CheckConstraint('staff_capacity >= 0 AND visitor_capacity >= 0 AND ev_capacity >= 0 AND accessible_capacity >= 0', name=op.f('ck_parking_lot_capacity')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_parking_lot_place_id_place'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parking_lot')),
    sa.UniqueConstraint('place_id', name=op.f('uq_parking_lot_place_id'))
    )
    op.create_table('gate_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('secret_enc', sa.String(length=200), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("direction IS NULL OR direction IN ('in', 'out')", name=op.f('ck_gate_key_direction')),
    sa.ForeignKeyConstraint(['lot_id'], ['parking_lot.id'], name=op.f('fk_gate_key_lot_id_parking_lot'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gate_key')),
    sa.UniqueConstraint('key_id', name=op.f('uq_gate_key_key_id'))
    )
    op.create_index(op.f('ix_gate_key_lot_id'), 'gate_key', ['lot_id'], unique=False)
    op.create_table('lot_occupancy',
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('occupied', sa.Integer(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('occupied >= 0', name=op.f('ck_lot_occupancy_occupied')),
    sa.ForeignKeyConstraint(['lot_id'], ['parking_lot.id'], name=op.f('fk_lot_occupancy_lot_id_parking_lot'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('lot_id', name=op.f('pk_lot_occupancy'))
    )
    op.create_table('parking_correction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('occupied_before', sa.Integer(), nullable=False),
    sa.Column('occupied_after', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("btrim(reason) <> ''", name=op.f('ck_parking_correction_reason')),
    sa.CheckConstraint('occupied_after >= 0', name=op.f('ck_parking_correction_occupied_after')),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_parking_correction_actor_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lot_id'], ['parking_lot.id'], name=op.f('fk_parking_correction_lot_id_parking_lot'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parking_correction'))
    )
    op.create_index(op.f('ix_parking_correction_lot_id'), 'parking_correction', ['lot_id'], unique=False)
    op.create_table('parking_draw',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('algorithm', sa.String(length=40), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=False),
    sa.Column('supply', sa.Integer(), nullable=False),
    sa.Column('applicants', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('run_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('staff', 'visitor', 'ev', 'accessible')", name=op.f('ck_parking_draw_kind')),
    sa.CheckConstraint("period IN ('day', 'am', 'pm')", name=op.f('ck_parking_draw_period')),
    sa.CheckConstraint('supply >= 0', name=op.f('ck_parking_draw_supply')),
    sa.ForeignKeyConstraint(['lot_id'], ['parking_lot.id'], name=op.f('fk_parking_draw_lot_id_parking_lot'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parking_draw')),
    sa.UniqueConstraint('lot_id', 'day', 'period', 'kind', name=op.f('uq_parking_draw_lot_id_day_period_kind'))
    )
    op.create_table('parking_space',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.CheckConstraint("kind IN ('staff', 'visitor', 'ev', 'accessible')", name=op.f('ck_parking_space_kind')),
    sa.ForeignKeyConstraint(['lot_id'], ['parking_lot.id'], name=op.f('fk_parking_space_lot_id_parking_lot'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parking_space')),
    sa.UniqueConstraint('lot_id', 'number', name=op.f('uq_parking_space_lot_id_number'))
    )
    op.create_table('vehicle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('plate', sa.String(length=12), nullable=False),
    sa.Column('plate_kind', sa.String(length=16), nullable=False),
    sa.Column('is_ev', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('needs_accessible', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_vehicle_user_id_app_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vehicle'))
    )
    op.create_index(op.f('ix_vehicle_user_id'), 'vehicle', ['user_id'], unique=False)
    op.create_index('uq_vehicle_active_plate', 'vehicle', ['plate'], unique=True, postgresql_where=sa.text('is_active'))
    op.create_table('whitelist_change',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('plate', sa.String(length=12), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("action IN ('allow', 'revoke')", name=op.f('ck_whitelist_change_action')),
    sa.ForeignKeyConstraint(['lot_id'], ['parking_lot.id'], name=op.f('fk_whitelist_change_lot_id_parking_lot'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_whitelist_change'))
    )
    op.create_index(op.f('ix_whitelist_change_lot_id_id'), 'whitelist_change', ['lot_id', 'id'], unique=False)
    op.create_table('gate_nonce',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('gate_key_id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['gate_key_id'], ['gate_key.id'], name=op.f('fk_gate_nonce_gate_key_id_gate_key'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gate_nonce')),
    sa.UniqueConstraint('gate_key_id', 'nonce', name=op.f('uq_gate_nonce_gate_key_id_nonce'))
    )
    op.create_index(op.f('ix_gate_nonce_seen_at'), 'gate_nonce', ['seen_at'], unique=False)
    op.create_table('parking_reservation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('vehicle_id', sa.Integer(), nullable=True),
    sa.Column('plate', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('space_id', sa.Integer(), nullable=True),
    sa.Column('draw_id', sa.Integer(), nullable=True),
    sa.Column('waitlist_rank', sa.Integer(), nullable=True),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('exited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('staff', 'visitor', 'ev', 'accessible')", name=op.f('ck_parking_reservation_kind')),
    sa.CheckConstraint("period IN ('day', 'am', 'pm')", name=op.f('ck_parking_reservation_period')),
    sa.CheckConstraint("status IN ('applied', 'reserved', 'waitlisted', 'lost', 'entered', 'completed', 'cancelled', 'no_show', 'revoked')", name=op.f('ck_parking_reservation_status')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_parking_reservation_window')),
    sa.CheckConstraint('user_id IS NOT NULL OR visit_id IS NOT NULL', name=op.f('ck_parking_reservation_holder')),
    sa.ForeignKeyConstraint(['draw_id'], ['parking_draw.id'], name=op.f('fk_parking_reservation_draw_id_parking_draw'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lot_id'], ['parking_lot.id'], name=op.f('fk_parking_reservation_lot_id_parking_lot'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['space_id'], ['parking_space.id'], name=op.f('fk_parking_reservation_space_id_parking_space'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_parking_reservation_user_id_app_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.id'], name=op.f('fk_parking_reservation_vehicle_id_vehicle'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_parking_reservation_visit_id_visit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parking_reservation'))
    )
    op.create_index(op.f('ix_parking_reservation_lot_id_day_kind_status'), 'parking_reservation', ['lot_id', 'day', 'kind', 'status'], unique=False)
    op.create_index(op.f('ix_parking_reservation_plate_day'), 'parking_reservation', ['plate', 'day'], unique=False)
    op.create_index('uq_parking_reservation_live_person', 'parking_reservation', ['user_id', 'lot_id', 'day', 'period'], unique=True, postgresql_where=sa.text("visit_id IS NULL AND status IN ('applied', 'reserved', 'waitlisted', 'entered')"))
    op.create_index('uq_parking_reservation_live_visit', 'parking_reservation', ['visit_id'], unique=True, postgresql_where=sa.text("status IN ('applied', 'reserved', 'waitlisted', 'entered')"))
    op.create_table('gate_event',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('gate_key_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('plate', sa.String(length=12), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('offline', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('opened', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=True),
    sa.Column('vehicle_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_gate_event_direction')),
    sa.CheckConstraint("reason IN ('staff_vehicle', 'visitor_reservation', 'reservation', 'unknown_plate', 'no_reservation', 'lot_full', 'exit')", name=op.f('ck_gate_event_reason')),
    sa.ForeignKeyConstraint(['gate_key_id'], ['gate_key.id'], name=op.f('fk_gate_event_gate_key_id_gate_key'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['lot_id'], ['parking_lot.id'], name=op.f('fk_gate_event_lot_id_parking_lot'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reservation_id'], ['parking_reservation.id'], name=op.f('fk_gate_event_reservation_id_parking_reservation'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.id'], name=op.f('fk_gate_event_vehicle_id_vehicle'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gate_event')),
    sa.UniqueConstraint('gate_key_id', 'event_id', name=op.f('uq_gate_event_gate_key_id_event_id'))
    )
    op.create_index(op.f('ix_gate_event_lot_id_occurred_at'), 'gate_event', ['lot_id', 'occurred_at'], unique=False)
    op.create_index(op.f('ix_gate_event_plate_occurred_at'), 'gate_event', ['plate', 'occurred_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_gate_event_plate_occurred_at'), table_name='gate_event')
    op.drop_index(op.f('ix_gate_event_lot_id_occurred_at'), table_name='gate_event')
    op.drop_table('gate_event')
    op.drop_index('uq_parking_reservation_live_visit', table_name='parking_reservation', postgresql_where=sa.text("status IN ('applied', 'reserved', 'waitlisted', 'entered')"))
    op.drop_index('uq_parking_reservation_live_person', table_name='parking_reservation', postgresql_where=sa.text("visit_id IS NULL AND status IN ('applied', 'reserved', 'waitlisted', 'entered')"))
    op.drop_index(op.f('ix_parking_reservation_plate_day'), table_name='parking_reservation')
    op.drop_index(op.f('ix_parking_reservation_lot_id_day_kind_status'), table_name='parking_reservation')
    op.drop_table('parking_reservation')
    op.drop_index(op.f('ix_gate_nonce_seen_at'), table_name='gate_nonce')
    op.drop_table('gate_nonce')
    op.drop_index(op.f('ix_whitelist_change_lot_id_id'), table_name='whitelist_change')
    op.drop_table('whitelist_change')
    op.drop_index('uq_vehicle_active_plate', table_name='vehicle', postgresql_where=sa.text('is_active'))
    op.drop_index(op.f('ix_vehicle_user_id'), table_name='vehicle')
    op.drop_table('vehicle')
    op.drop_table('parking_space')
    op.drop_table('parking_draw')
    op.drop_index(op.f('ix_parking_correction_lot_id'), table_name='parking_correction')
    op.drop_table('parking_correction')
    op.drop_table('lot_occupancy')
    op.drop_index(op.f('ix_gate_key_lot_id'), table_name='gate_key')
    op.drop_table('gate_key')
    op.drop_table('parking_lot')
