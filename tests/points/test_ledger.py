"""The ledger service: pay-once awards, caps per Asia/Shanghai period, spends, reversals,
adjustments, expiry (FIFO), the append-only trigger and the ledger check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from app.errors import AppError
from app.extensions import db
from app.timeutil import utcnow
from blueprints.points import service
from models import AuditLog
from models.points import PointsAccount, PointsRule, PointsTransaction
from tests.points.conftest import account, assert_ledger_sound, at, rows_of


def _set_rule(code: str, **values) -> None:
    db.session.execute(update(PointsRule).where(PointsRule.code == code).values(**values))
    db.session.commit()


# --- award -------------------------------------------------------------------------------

def test_award_pays_once_per_reference(rules, make):
    user = make.user()
    first = service.award(user.id, "clean_plate", "meal_checkin:1", note="午餐")
    db.session.commit()
    assert (first.kind, first.amount, first.rule_code, first.balance_after) == ("earn", 2, "clean_plate", 2)
    assert first.note == "午餐" and first.reference == "meal_checkin:1"
    for _ in range(3):  # repeats pay nothing and never raise
        assert service.award(user.id, "clean_plate", "meal_checkin:1") is None
        db.session.commit()
    assert [r.amount for r in rows_of(user.id)] == [2]
    assert service.balance(user.id) == 2
    acc = account(user.id)
    assert (acc.balance, acc.earned_total, acc.spent_total) == (2, 2, 0)
    # The same reference for another user or rule pays nothing either (a domain's bug, logged).
    other = make.user()
    assert service.award(other.id, "clean_plate", "meal_checkin:1") is None
    assert service.award(user.id, "rating", "meal_checkin:1") is None
    db.session.commit()
    assert service.balance(other.id) == 0 and service.balance(user.id) == 2
    assert_ledger_sound()


def test_unknown_rule_is_a_programming_error_and_inactive_pays_nothing(rules, make):
    user = make.user()
    with pytest.raises(ValueError, match="unknown points rule"):
        service.award(user.id, "no_such_rule", "x:1")
    with pytest.raises(ValueError, match="reference"):
        service.award(user.id, "rating", "x" * 161)
    with pytest.raises(ValueError, match="aware"):
        service.award(user.id, "rating", "x:2", now=at(2026, 1, 1).replace(tzinfo=None))
    db.session.rollback()
    _set_rule("rating", active=False)
    assert service.award(user.id, "rating", "rating:1") is None
    db.session.commit()
    _set_rule("rating", active=True)
    assert service.award(user.id, "rating", "rating:1").amount == 1  # never paid, so it pays now
    db.session.commit()
    assert [r.reference for r in rows_of(user.id)] == ["rating:1"]
    assert_ledger_sound()


def test_cap_is_reached_exactly_with_a_partial_remainder(partial_rule, make):
    user = make.user()
    noon = at(2026, 5, 20, 12)
    paid = [service.award(user.id, "test_partial", f"p:{n}", now=noon + timedelta(minutes=n)) for n in range(6)]
    db.session.commit()
    assert [p.amount if p else None for p in paid] == [3, 3, 3, 1, None, None]
    assert [r.balance_after for r in rows_of(user.id)] == [3, 6, 9, 10]
    # Unpaid references were not recorded: they may pay in another period.
    assert service.find("p:4") is None
    assert service.award(user.id, "test_partial", "p:4", now=noon + timedelta(days=1)).amount == 3
    db.session.commit()
    # Other users have their own caps.
    assert service.award(make.user().id, "test_partial", "p:other", now=noon).amount == 3
    db.session.commit()
    assert_ledger_sound()


def test_lowering_the_cap_midway_pays_nothing_more(rules, make):
    user = make.user()
    noon = at(2026, 5, 20, 12)
    _set_rule("rating", points=2, cap=10)
    for n in range(3):
        service.award(user.id, "rating", f"rating:{n}", now=noon)
    db.session.commit()
    _set_rule("rating", points=1, cap=5)  # an administrator lowers it below what was paid today
    assert service.award(user.id, "rating", "rating:9", now=noon) is None
    db.session.commit()
    assert service.balance(user.id) == 6
    assert_ledger_sound()


def test_day_rolls_over_at_shanghai_midnight(rules, make):
    user = make.user()
    late = at(2026, 3, 10, 23, 59, 59)  # 15:59:59 UTC
    assert service.award(user.id, "clean_plate", "c:1", now=late - timedelta(hours=12)).amount == 2
    assert service.award(user.id, "clean_plate", "c:2", now=late).amount == 2
    assert service.award(user.id, "clean_plate", "c:3", now=late) is None  # 4 a day
    # 16:00 UTC on 10 March is already 11 March in Shanghai.
    assert service.award(user.id, "clean_plate", "c:3", now=at(2026, 3, 11, 0, 0, 0)).amount == 2
    assert service.award(user.id, "clean_plate", "c:4", now=at(2026, 3, 11, 0, 0, 1)).amount == 2
    assert service.award(user.id, "clean_plate", "c:5", now=at(2026, 3, 11, 23, 0)) is None
    db.session.commit()
    assert service.balance(user.id) == 8
    assert_ledger_sound()


def test_week_is_monday_to_sunday_in_shanghai(rules, make):
    user = make.user()
    sunday_night = at(2026, 3, 15, 23, 30)  # a Sunday
    assert sunday_night.isoweekday() == 7
    assert service.award(user.id, "waste_free_week", "w:1", now=at(2026, 3, 9, 0, 0)).amount == 5  # Monday
    assert service.award(user.id, "waste_free_week", "w:2", now=sunday_night) is None
    assert service.award(user.id, "waste_free_week", "w:2", now=at(2026, 3, 16, 0, 0)).amount == 5  # next Monday
    assert service.award(user.id, "waste_free_week", "w:3", now=at(2026, 3, 22, 23, 59)) is None
    db.session.commit()
    assert service.balance(user.id) == 10
    assert_ledger_sound()


def test_month_rolls_over_on_the_first_in_shanghai(rules, make):
    user = make.user()
    for n in range(3):
        paid = service.award(user.id, "suggestion_adopted", f"s:{n}", now=at(2026, 3, 1, 0, 0) + timedelta(days=n))
        assert paid.amount == 20
    assert service.award(user.id, "suggestion_adopted", "s:3", now=at(2026, 3, 31, 23, 59)) is None  # 60 a month
    assert service.award(user.id, "suggestion_adopted", "s:3", now=at(2026, 4, 1, 0, 0)).amount == 20
    db.session.commit()
    assert service.balance(user.id) == 80
    assert_ledger_sound()


def test_period_none_caps_the_total(rules, make):
    user = make.user()
    _set_rule("rating", period="none", points=1, cap=2)
    paid = [service.award(user.id, "rating", f"r:{n}", now=at(2026, 1 + n, 1)) for n in range(4)]
    db.session.commit()
    assert [p.amount if p else None for p in paid] == [1, 1, None, None]


def test_period_bounds():
    assert service.period_bounds("day", at(2026, 3, 10, 23, 59)) == (at(2026, 3, 10, 0, 0), at(2026, 3, 11, 0, 0))
    assert service.period_bounds("week", at(2026, 1, 1, 8)) == (at(2025, 12, 29, 0, 0), at(2026, 1, 5, 0, 0))
    assert service.period_bounds("month", at(2026, 12, 31, 23)) == (at(2026, 12, 1, 0, 0), at(2027, 1, 1, 0, 0))
    assert service.period_bounds("none", at(2026, 1, 1)) == (None, None)


def test_earned_points_expire_at_the_end_of_the_month_n_months_later(app, rules, make, monkeypatch):
    user = make.user()
    a = service.award(user.id, "clean_plate", "e:1", now=at(2026, 3, 15, 10))
    b = service.award(user.id, "clean_plate", "e:2", now=at(2026, 3, 31, 23, 30))  # 15:30 UTC, still March
    c = service.award(user.id, "clean_plate", "e:3", now=at(2026, 4, 1, 0, 30))  # 16:30 UTC on 31 March: April
    db.session.commit()
    assert a.expires_at == b.expires_at == at(2028, 4, 1, 0, 0)  # usable through 31 March 2028
    assert c.expires_at == at(2028, 5, 1, 0, 0)
    monkeypatch.setitem(app.config, "POINTS_EXPIRE_MONTHS", 0)
    assert service.award(user.id, "clean_plate", "e:4", now=at(2026, 4, 1, 12)).expires_at is None
    db.session.commit()


# --- spend -------------------------------------------------------------------------------

def test_spend_and_insufficient_balance(rules, make):
    user = make.user()
    service.award(user.id, "suggestion_adopted", "s:1")
    db.session.commit()
    with pytest.raises(AppError) as exc:
        service.spend(user.id, 21, "redemption:1")
    assert exc.value.code == "POINTS_INSUFFICIENT" and exc.value.status == 409
    assert exc.value.details == {"balance": 20, "required": 21}
    assert "当前 20 分" in exc.value.message and "需要 21 分" in exc.value.message
    db.session.rollback()
    row = service.spend(user.id, 15, "redemption:1", note="兑换：环保购物袋")
    db.session.commit()
    assert (row.kind, row.amount, row.balance_after, row.title) == ("spend", -15, 5, "兑换：环保购物袋")
    assert service.spend(user.id, 15, "redemption:1").id == row.id  # a repeat returns the row, pays nothing
    db.session.commit()
    with pytest.raises(AppError) as conflict:
        service.spend(user.id, 5, "redemption:1")  # the same event with another amount: a bug
    assert conflict.value.code == "POINTS_REFERENCE_CONFLICT"
    db.session.rollback()
    with pytest.raises(ValueError):
        service.spend(user.id, 0, "redemption:2")
    db.session.rollback()
    acc = account(user.id)
    assert (acc.balance, acc.earned_total, acc.spent_total) == (5, 20, 15)
    # A user with no account has nothing to spend.
    with pytest.raises(AppError, match="POINTS_INSUFFICIENT"):
        service.spend(make.user().id, 1, "redemption:3")
    db.session.rollback()
    assert_ledger_sound()


# --- reverse -----------------------------------------------------------------------------

def test_reverse_once_only(rules, make):
    user = make.user()
    earn = service.award(user.id, "rating", "rating:45")
    spend_row = None
    service.award(user.id, "suggestion_adopted", "s:1")
    spend_row = service.spend(user.id, 10, "redemption:9")
    db.session.commit()
    rev = service.reverse(earn.id, reason="评价已删除")
    db.session.commit()
    assert (rev.kind, rev.amount, rev.reverses_id, rev.rule_code, rev.reference) == (
        "reverse", -1, earn.id, "rating", f"reverse:{earn.id}")
    assert rev.title == "撤销：服务评价" and rev.balance_after == 10
    with pytest.raises(AppError) as again:
        service.reverse(earn.id, reason="再次")
    assert again.value.code == "POINTS_ALREADY_REVERSED" and again.value.details == {"reversal_id": rev.id}
    db.session.rollback()
    for not_reversible in (rev.id,):
        with pytest.raises(AppError, match="POINTS_NOT_REVERSIBLE"):
            service.reverse(not_reversible, reason="撤销的撤销")
        db.session.rollback()
    with pytest.raises(AppError, match="NOT_FOUND"):
        service.reverse(999999, reason="不存在")
    db.session.rollback()
    refund = service.reverse(spend_row.id, reason="兑换取消")  # a refund
    db.session.commit()
    assert refund.amount == 10 and refund.balance_after == 20
    acc = account(user.id)
    assert (acc.balance, acc.earned_total, acc.spent_total) == (20, 20, 0)
    # Domains undo their own events by reference; twice is harmless.
    assert service.reverse_reference("rating:45", reason="x").id == rev.id
    assert service.reverse_reference("rating:unknown", reason="x") is None
    db.session.commit()
    assert_ledger_sound()


def test_reversing_points_already_spent_is_refused(rules, make):
    user = make.user()
    earn = service.award(user.id, "suggestion_adopted", "s:1")
    service.spend(user.id, 15, "redemption:1")
    db.session.commit()
    with pytest.raises(AppError) as exc:
        service.reverse(earn.id, reason="误发")
    assert exc.value.code == "POINTS_INSUFFICIENT" and exc.value.details == {"balance": 5, "required": 20}
    db.session.rollback()
    assert service.balance(user.id) == 5 and len(rows_of(user.id)) == 2
    assert_ledger_sound()


def test_reversal_by_an_administrator_is_audited(rules, make):
    user, admin = make.user(), make.user("admin")
    earn = service.award(user.id, "rating", "rating:1")
    service.reverse(earn.id, reason="代评", actor=admin)
    db.session.commit()
    entry = db.session.execute(select(AuditLog).where(AuditLog.action == "points.reverse")).scalar_one()
    assert entry.actor_id == admin.id and entry.details["reverses_id"] == earn.id
    assert rows_of(user.id)[-1].actor_id == admin.id


# --- adjust ------------------------------------------------------------------------------

def test_adjust_is_audited_and_checked(rules, make):
    user, admin = make.user(), make.user("admin")
    plus = service.adjust(user.id, 30, actor=admin, reason="活动奖励", reference="adjust:a:1")
    db.session.commit()
    assert (plus.kind, plus.amount, plus.actor_id, plus.note, plus.balance_after) == ("adjust", 30, admin.id,
                                                                                      "活动奖励", 30)
    assert plus.expires_at is not None and plus.title == "管理员调整：活动奖励"
    minus = service.adjust(user.id, -12, actor=admin, reason="重复发放", reference="adjust:a:2")
    db.session.commit()
    assert minus.amount == -12 and minus.expires_at is None and minus.balance_after == 18
    assert service.adjust(user.id, -12, actor=admin, reason="重复发放", reference="adjust:a:2").id == minus.id
    with pytest.raises(AppError, match="POINTS_INSUFFICIENT"):
        service.adjust(user.id, -19, actor=admin, reason="扣多了", reference="adjust:a:3")
    db.session.rollback()
    with pytest.raises(AppError, match="NOT_FOUND"):
        service.adjust(2_000_000_000, 5, actor=admin, reason="无此人", reference="adjust:a:4")
    db.session.rollback()
    with pytest.raises(ValueError):
        service.adjust(user.id, 0, actor=admin, reason="零", reference="adjust:a:5")
    db.session.rollback()
    entries = db.session.execute(select(AuditLog).where(AuditLog.action == "points.adjust")
                                 .order_by(AuditLog.id)).scalars().all()
    assert [(e.actor_id, e.target_id, e.details["amount"], e.details["reason"]) for e in entries] == [
        (admin.id, str(user.id), 30, "活动奖励"), (admin.id, str(user.id), -12, "重复发放")]
    acc = account(user.id)
    # A positive adjustment counts as earned; a deduction is neither earned nor spent.
    assert (acc.balance, acc.earned_total, acc.spent_total) == (18, 30, 0)
    assert_ledger_sound()


# --- append-only -------------------------------------------------------------------------

def test_transactions_cannot_be_updated_or_deleted(rules, make):
    user = make.user()
    row = service.award(user.id, "rating", "rating:1")
    db.session.commit()
    for statement in ("UPDATE points_transaction SET amount = 100 WHERE id = :id",
                      "UPDATE points_transaction SET note = 'x' WHERE id = :id",
                      "DELETE FROM points_transaction WHERE id = :id"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement), {"id": row.id})
        db.session.rollback()
    assert [(r.amount, r.note) for r in rows_of(user.id)] == [(1, None)]
    # Nor through the ORM.
    loaded = db.session.get(PointsTransaction, row.id)
    loaded.amount = 50
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert_ledger_sound()


# --- expiry ------------------------------------------------------------------------------

def test_expiry_is_fifo_and_a_rerun_expires_nothing(rules, make):
    user = make.user()
    old = service.award(user.id, "suggestion_adopted", "s:old", now=at(2024, 1, 10))  # 20, expires 2026-02-01
    new = service.award(user.id, "waste_free_week", "w:new", now=at(2026, 1, 5))  # 5, expires 2028-02-01
    service.spend(user.id, 8, "redemption:1")
    db.session.commit()
    assert old.expires_at == at(2026, 2, 1, 0, 0) and new.expires_at == at(2028, 2, 1, 0, 0)
    assert service.expire_due(now=at(2026, 1, 31, 23, 59)) == 0  # not yet
    assert service.expire_due(now=at(2026, 2, 1, 0, 0)) == 1
    expired = rows_of(user.id, "expire")
    assert [(r.amount, r.balance_after) for r in expired] == [(-12, 5)]  # the unspent part of the old earn
    assert expired[0].reference == f"expire:{user.id}:2026-02-01:12"
    assert service.expire_due(now=at(2026, 2, 1, 1, 0)) == 0  # a re-run expires nothing
    assert service.expire_due(now=at(2027, 6, 1)) == 0
    acc = account(user.id)
    assert (acc.balance, acc.earned_total, acc.spent_total) == (5, 25, 8)
    assert service.expire_due(now=at(2028, 2, 1, 0, 0)) == 1  # then the newer earn
    assert service.balance(user.id) == 0
    assert_ledger_sound()


def test_expiry_with_reversals_and_refunds(rules, make):
    user = make.user()
    a = service.award(user.id, "suggestion_adopted", "s:a", now=at(2024, 1, 10))  # 20, due 2026-02-01
    b = service.award(user.id, "suggestion_adopted", "s:b", now=at(2024, 1, 11))  # 20, due 2026-02-01
    spent = service.spend(user.id, 5, "redemption:1")
    db.session.commit()
    service.reverse(b.id, reason="误发")  # a reversed earn never expires: the pair cancels out
    db.session.commit()
    assert service.expire_due(now=at(2026, 3, 1)) == 1
    assert [r.amount for r in rows_of(user.id, "expire")] == [-15]
    assert service.balance(user.id) == 0
    # A refund of a spend made from points now expired gives them back, and they expire.
    service.reverse(spent.id, reason="兑换取消")
    db.session.commit()
    assert service.balance(user.id) == 5
    assert service.expire_due(now=at(2026, 3, 1, 1)) == 1
    assert [r.amount for r in rows_of(user.id, "expire")] == [-15, -5]
    assert len({r.reference for r in rows_of(user.id, "expire")}) == 2
    assert service.balance(user.id) == 0 and a.expires_at == at(2026, 2, 1, 0, 0)
    with pytest.raises(AppError, match="POINTS_NOT_REVERSIBLE"):
        service.reverse(rows_of(user.id, "expire")[0].id, reason="expire")
    db.session.rollback()
    assert service.expire_due(now=at(2026, 3, 2)) == 0
    assert_ledger_sound()


def test_the_registered_sweep_expires_points(rules, make):
    from app.sweeps import SWEEPS, run_sweep

    assert SWEEPS["points_expire"].path == "blueprints.points.service:expire_due"
    user = make.user()
    service.award(user.id, "rating", "r:old", now=utcnow() - timedelta(days=31 * 27))
    service.award(user.id, "rating", "r:new")
    db.session.commit()
    assert run_sweep("points_expire") == 1
    assert run_sweep("points_expire") == 0
    assert [r.amount for r in rows_of(user.id, "expire")] == [-1] and service.balance(user.id) == 1
    assert_ledger_sound()


def test_expire_months_zero_means_never(app, rules, make, monkeypatch):
    monkeypatch.setitem(app.config, "POINTS_EXPIRE_MONTHS", 0)
    user = make.user()
    service.award(user.id, "rating", "r:1", now=at(2020, 1, 1))
    db.session.commit()
    assert service.expire_due(now=utcnow() + timedelta(days=3650)) == 0


def test_summary_lists_points_expiring_within_30_days(rules, make):
    user = make.user()
    service.award(user.id, "suggestion_adopted", "s:1", now=at(2024, 4, 10))  # expires 2026-05-01
    service.award(user.id, "suggestion_adopted", "s:2", now=at(2024, 5, 10))  # expires 2026-06-01
    service.award(user.id, "waste_free_week", "w:1", now=at(2024, 6, 10))  # expires 2026-07-01
    service.spend(user.id, 25, "redemption:1")  # consumes s:1 and 5 of s:2
    db.session.commit()
    summary = service.summary(user.id, now=at(2026, 5, 10))
    assert summary["balance"] == 20
    assert summary["expiring_soon"] == [{"points": 15, "expires_at": at(2026, 6, 1, 0, 0),
                                         "last_day": at(2026, 5, 31).date()}]
    assert summary["expiring_points"] == 15
    assert service.summary(user.id, now=at(2026, 4, 1))["expiring_points"] == 0
    assert service.summary(make.user().id)["balance"] == 0


# --- the ledger check --------------------------------------------------------------------

def test_check_ledger_detects_a_tampered_account(rules, make):
    user, other = make.user(), make.user()
    service.award(user.id, "suggestion_adopted", "s:1")
    service.spend(user.id, 5, "redemption:1")
    service.award(other.id, "rating", "r:1")
    db.session.commit()
    assert service.check_ledger() == []
    db.session.execute(update(PointsAccount).where(PointsAccount.user_id == user.id)
                       .values(balance=PointsAccount.balance + 5))
    db.session.execute(update(PointsAccount).where(PointsAccount.user_id == other.id)
                       .values(earned_total=7, spent_total=2))
    db.session.commit()
    problems = service.check_ledger()
    assert {(p["user_id"], p["problem"], p["expected"], p["actual"]) for p in problems} == {
        (user.id, "balance_mismatch", 15, 20), (other.id, "earned_total_mismatch", 1, 7),
        (other.id, "spent_total_mismatch", 0, 2)}
    # A ledger row without an account (the account deleted behind the service's back).
    db.session.execute(text("DELETE FROM points_account WHERE user_id = :id"), {"id": other.id})
    db.session.commit()
    assert (other.id, "account_missing") in {(p["user_id"], p["problem"]) for p in service.check_ledger()}


def test_check_ledger_detects_a_broken_balance_chain(rules, make):
    user = make.user()
    service.award(user.id, "rating", "r:1")
    db.session.commit()
    # Forge a row (trigger off for this transaction only) to prove the chain check reads it.
    db.session.execute(text("ALTER TABLE points_transaction DISABLE TRIGGER points_transaction_append_only"))
    db.session.execute(text("UPDATE points_transaction SET balance_after = 7 WHERE reference = 'r:1'"))
    db.session.execute(text("ALTER TABLE points_transaction ENABLE TRIGGER points_transaction_append_only"))
    db.session.commit()
    problems = service.check_ledger()
    assert [(p["problem"], p["expected"], p["actual"]) for p in problems] == [("balance_after_mismatch", 1, 7)]
