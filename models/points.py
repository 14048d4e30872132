"""Points (积分): an append-only ledger, the cached balance per user, the earning rules.

- `PointsTransaction`: one row per change of a user's points: earn (an earning rule paid
  for a business event), spend (a redemption), expire (the sweep), adjust (an
  administrator's correction), reverse (cancels exactly one earlier row). Each row names
  its business event in `reference` (UNIQUE: the database enforces pay-once) and carries the
  balance after it. Rows are never updated or deleted: a trigger (migration 0007_points)
  refuses both; a correction is a new reversing row.
- `PointsAccount`: the cached balance and totals of a user, changed in the same transaction
  as each ledger row, under a row lock that serialises one user's changes.
- `PointsRule`: the configured earning rules (code → points, period, cap). Other domains
  award by code; administrators edit the numbers in the panel.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.errors import register_codes
from app.extensions import Base
from models.identity import TimestampMixin, User, in_check

register_codes({
    "POINTS_INSUFFICIENT": (409, "积分余额不足",
                            "Points: the balance does not cover the debit (a spend, a negative adjustment, or "
                            "reversing points already used). `details`: {balance, required}."),
    "POINTS_ALREADY_REVERSED": (409, "该积分记录已撤销，不能重复撤销",
                                "Points: the transaction was reversed before (a row is reversed at most once); "
                                "`details.reversal_id` names the reversing row."),
    "POINTS_NOT_REVERSIBLE": (409, "过期记录和撤销记录不能撤销",
                              "Points: expiries and reversals cannot themselves be reversed; correct them with "
                              "an adjustment."),
    "POINTS_REFERENCE_CONFLICT": (409, "该业务编号已用于另一笔积分记录",
                                  "Points: the reference (business event) is already recorded for another user, "
                                  "kind or amount; `details.transaction_id` names that row."),
})

# kind: Chinese label
TRANSACTION_KINDS: dict[str, str] = {"earn": "获得", "spend": "使用", "expire": "过期", "adjust": "调整",
                                     "reverse": "撤销"}
# period: (Chinese label, the cap's wording)
RULE_PERIODS: dict[str, tuple[str, str]] = {"day": ("每天", "每天"), "week": ("每周（周一至周日）", "每周"),
                                            "month": ("每月", "每月"), "none": ("不分周期", "累计")}


class PointsRule(TimestampMixin, Base):
    """An earning rule: `points` per awarded event, at most `cap` points per user per
    `period` (Asia/Shanghai calendar day, ISO week Monday–Sunday, month; "none": ever).
    NULL cap: no cap. Codes are referenced by the domains that award them: never renamed,
    never deleted (transactions refer to them)."""

    __tablename__ = "points_rule"
    __table_args__ = (
        UniqueConstraint("code"),
        CheckConstraint("points > 0", name="points"),
        CheckConstraint(in_check("period", RULE_PERIODS), name="period"),
        CheckConstraint("cap IS NULL OR cap >= points", name="cap"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(50))
    points: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(8), default="day", server_default="day")
    cap: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    description: Mapped[str] = mapped_column(String(200), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    @property
    def period_label(self) -> str:
        return RULE_PERIODS[self.period][0]

    @property
    def cap_text(self) -> str:
        """The rule in words, e.g. 「每次 2 分，每天最多 4 分」."""
        text_ = f"每次 {self.points} 分"
        if self.cap is None:
            return text_ + "，不设上限"
        return text_ + f"，{RULE_PERIODS[self.period][1]}最多 {self.cap} 分"

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class PointsAccount(Base):
    """The cached balance of one user. Changed only by blueprints/points/service.py, in the
    transaction that writes the ledger row, with the row locked (SELECT ... FOR UPDATE).
    earned_total: earned and positively adjusted points, less those reversed; spent_total:
    spent points, less those refunded by reversal. `flask points-check` verifies all three."""

    __tablename__ = "points_account"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance"),
        CheckConstraint("earned_total >= 0", name="earned_total"),
        CheckConstraint("spent_total >= 0", name="spent_total"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"), primary_key=True)
    balance: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    earned_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    spent_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    user: Mapped[User] = relationship()


class PointsTransaction(Base):
    """One ledger row (append-only). Signs: earn > 0; spend, expire < 0; adjust ≠ 0;
    reverse = −(the reversed row's amount)."""

    __tablename__ = "points_transaction"
    __table_args__ = (
        UniqueConstraint("reference"),
        UniqueConstraint("reverses_id"),
        CheckConstraint(in_check("kind", TRANSACTION_KINDS), name="kind"),
        CheckConstraint("(kind = 'earn' AND amount > 0) OR (kind IN ('spend', 'expire') AND amount < 0) "
                        "OR (kind IN ('adjust', 'reverse') AND amount <> 0)", name="amount_sign"),
        CheckConstraint("kind <> 'earn' OR rule_code IS NOT NULL", name="earn_rule"),
        CheckConstraint("rule_code IS NULL OR kind IN ('earn', 'reverse')", name="rule_kind"),
        CheckConstraint("(kind = 'reverse') = (reverses_id IS NOT NULL)", name="reverses"),
        CheckConstraint("expires_at IS NULL OR (kind IN ('earn', 'adjust') AND amount > 0)", name="expires"),
        CheckConstraint("balance_after >= 0", name="balance_after"),
        Index("ix_points_transaction_user_id_id", "user_id", "id"),
        # The cap's question: how much did this rule pay this user in this period?
        Index("ix_points_transaction_cap", "user_id", "rule_code", "created_at",
              postgresql_where=text("kind = 'earn'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int] = mapped_column(Integer)
    rule_code: Mapped[str | None] = mapped_column(ForeignKey("points_rule.code", ondelete="RESTRICT"))
    reference: Mapped[str] = mapped_column(String(160))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("points_transaction.id", ondelete="RESTRICT"))
    note: Mapped[str | None] = mapped_column(String(200))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    balance_after: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    rule: Mapped[PointsRule | None] = relationship()
    reverses: Mapped[PointsTransaction | None] = relationship(remote_side=[id], back_populates="reversal")
    reversal: Mapped[PointsTransaction | None] = relationship(back_populates="reverses", uselist=False)

    @property
    def kind_label(self) -> str:
        return TRANSACTION_KINDS[self.kind]

    @property
    def rule_name(self) -> str | None:
        return self.rule.name if self.rule is not None else None

    @property
    def is_reversed(self) -> bool:
        return self.reversal is not None

    @property
    def actor_name(self) -> str | None:
        return self.actor.name if self.actor is not None else None

    @property
    def title(self) -> str:
        """What the row is, in a user's words: 「光盘打卡」, 「积分过期」, 「撤销：光盘打卡」."""
        if self.kind == "earn":
            return self.rule_name or "获得积分"
        if self.kind == "spend":
            return self.note or "积分使用"
        if self.kind == "expire":
            return "积分过期"
        if self.kind == "adjust":
            return "管理员调整" + (f"：{self.note}" if self.note else "")
        original = self.reverses
        return "撤销：" + (original.title if original is not None else "积分记录")

    def __str__(self) -> str:
        return f"#{self.id} {self.kind_label} {self.amount:+d}"
