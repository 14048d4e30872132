"""points: append-only ledger (trigger), cached accounts, earning rules (seeded)

Revision ID: 0007_points
Revises: 0006_ratings
Create Date: 2026-11-24

A sibling of the other issue-4 migrations (app/migrate.py upgrades to every head).

points_transaction is append-only at the database level: a trigger refuses every UPDATE and
DELETE of its rows (corrections are new reversing rows). TRUNCATE (maintenance by the
table's owner, and the test suite's clean-up) is not refused.

The earning rules are seeded here with the platform's values (a copy of
blueprints.points.service.DEFAULT_RULES at the time of writing: a migration never imports
application code); administrators change the numbers in the panel afterwards.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0007_points'
down_revision: str | Sequence[str] | None = '0006_ratings'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULES = [
    {"code": "clean_plate", "name": "光盘打卡", "points": 2, "period": "day", "cap": 4,
     "description": "在食堂用餐后拍摄空盘打卡，每餐一次；每天最多计午餐、晚餐两餐"},
    {"code": "rating", "name": "服务评价", "points": 1, "period": "day", "cap": 5,
     "description": "对已完成的服务订单（用餐、会议室、报修等）进行评价"},
    {"code": "suggestion_adopted", "name": "金点子被采纳", "points": 20, "period": "month", "cap": 60,
     "description": "提交的意见建议经管理员审核后被采纳"},
    {"code": "waste_free_week", "name": "一周零浪费", "points": 5, "period": "week", "cap": 5,
     "description": "一周（周一至周日）内的用餐均无浪费记录"},
]

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION points_transaction_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'points_transaction is append-only: % refused (corrections are new reversing rows)', TG_OP
        USING HINT = 'Use blueprints.points.service.reverse() or adjust().';
END
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER points_transaction_append_only BEFORE UPDATE OR DELETE ON points_transaction
FOR EACH ROW EXECUTE FUNCTION points_transaction_append_only()
"""


def upgrade() -> None:
    """Upgrade schema."""
    rule = op.create_table('points_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=8), server_default='day', nullable=False),
    sa.Column('cap', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('description', sa.String(length=200), server_default='', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("period IN ('day', 'week', 'month', 'none')", name=op.f('ck_points_rule_period')),
    sa.CheckConstraint('cap IS NULL OR cap >= points', name=op.f('ck_points_rule_cap')),
    sa.CheckConstraint('points > 0', name=op.f('ck_points_rule_points')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_rule')),
    sa.UniqueConstraint('code', name=op.f('uq_points_rule_code'))
    )
    op.create_table('points_account',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('balance', sa.Integer(), server_default='0', nullable=False),
    sa.Column('earned_total', sa.Integer(), server_default='0', nullable=False),
    sa.Column('spent_total', sa.Integer(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('balance >= 0', name=op.f('ck_points_account_balance')),
    sa.CheckConstraint('earned_total >= 0', name=op.f('ck_points_account_earned_total')),
    sa.CheckConstraint('spent_total >= 0', name=op.f('ck_points_account_spent_total')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_points_account_user_id_app_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_points_account'))
    )
    op.create_table('points_transaction',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('rule_code', sa.String(length=40), nullable=True),
    sa.Column('reference', sa.String(length=160), nullable=False),
    sa.Column('reverses_id', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('balance_after', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'earn' AND amount > 0) OR (kind IN ('spend', 'expire') AND amount < 0) OR (kind IN ('adjust', 'reverse') AND amount <> 0)", name=op.f('ck_points_transaction_amount_sign')),
    sa.CheckConstraint("(kind = 'reverse') = (reverses_id IS NOT NULL)", name=op.f('ck_points_transaction_reverses')),
    sa.CheckConstraint("expires_at IS NULL OR (kind IN ('earn', 'adjust') AND amount > 0)", name=op.f('ck_points_transaction_expires')),
    sa.CheckConstraint("kind <> 'earn' OR rule_code IS NOT NULL", name=op.f('ck_points_transaction_earn_rule')),
    sa.CheckConstraint("kind IN ('earn', 'spend', 'expire', 'adjust', 'reverse')", name=op.f('ck_points_transaction_kind')),
    sa.CheckConstraint("rule_code IS NULL OR kind IN ('earn', 'reverse')", name=op.f('ck_points_transaction_rule_kind')),
    sa.CheckConstraint('balance_after >= 0', name=op.f('ck_points_transaction_balance_after')),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_points_transaction_actor_id_app_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reverses_id'], ['points_transaction.id'], name=op.f('fk_points_transaction_reverses_id_points_transaction'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['rule_code'], ['points_rule.code'], name=op.f('fk_points_transaction_rule_code_points_rule'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_points_transaction_user_id_app_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_transaction')),
    sa.UniqueConstraint('reference', name=op.f('uq_points_transaction_reference')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_points_transaction_reverses_id'))
    )
    op.create_index('ix_points_transaction_cap', 'points_transaction', ['user_id', 'rule_code', 'created_at'], unique=False, postgresql_where=sa.text("kind = 'earn'"))
    op.create_index('ix_points_transaction_user_id_id', 'points_transaction', ['user_id', 'id'], unique=False)
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)
    op.bulk_insert(rule, RULES)


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DROP TRIGGER points_transaction_append_only ON points_transaction")
    op.execute("DROP FUNCTION points_transaction_append_only()")
    op.drop_index('ix_points_transaction_user_id_id', table_name='points_transaction')
    op.drop_index('ix_points_transaction_cap', table_name='points_transaction', postgresql_where=sa.text("kind = 'earn'"))
    op.drop_table('points_transaction')
    op.drop_table('points_account')
    op.drop_table('points_rule')
