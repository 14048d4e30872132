"""Several processes at once (tests/support/procs.py): the same award reference pays once, a
cap is reached exactly, spends never drive a balance negative, a row is reversed once, two
expiry sweeps expire once. Every test ends with the ledger check."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from app.extensions import db
from blueprints.points import service
from models.points import PointsTransaction
from tests.points import _workers
from tests.points.conftest import account, assert_ledger_sound, at, rows_of
from tests.support.procs import run_at_once

NOON = at(2026, 5, 20, 12).isoformat()


def test_same_reference_from_six_processes_pays_once(rules, make):
    user = make.user()
    outcomes = run_at_once(_workers.award, [(user.id, "clean_plate", "meal_checkin:77", NOON)] * 6)
    amounts = [amount for _, amount in outcomes]
    assert all(a is None or isinstance(a, int) for a in amounts), outcomes  # no process failed
    assert Counter(amounts) == {2: 1, None: 5}
    assert [(r.reference, r.amount) for r in rows_of(user.id)] == [("meal_checkin:77", 2)]
    assert service.balance(user.id) == 2
    assert_ledger_sound()


def test_cap_is_reached_exactly_under_concurrency(partial_rule, make):
    """8 processes, distinct references, a rule paying 3 with a cap of 10 a day: 3 + 3 + 3 +
    a remainder of 1, and four pay nothing."""
    user = make.user()
    outcomes = run_at_once(_workers.award, [(user.id, "test_partial", f"p:{n}", NOON) for n in range(8)])
    amounts = [amount for _, amount in outcomes]
    assert all(a is None or isinstance(a, int) for a in amounts), outcomes
    assert Counter(amounts) == {3: 3, 1: 1, None: 4}
    start, end = service.period_bounds("day", at(2026, 5, 20, 12))
    paid = db.session.execute(select(func.sum(PointsTransaction.amount)).where(
        PointsTransaction.user_id == user.id, PointsTransaction.rule_code == "test_partial",
        PointsTransaction.created_at >= start, PointsTransaction.created_at < end)).scalar_one()
    assert paid == 10 == service.balance(user.id)
    assert [r.balance_after for r in rows_of(user.id)] == [3, 6, 9, 10]
    assert_ledger_sound()


def test_concurrent_spends_never_drive_the_balance_negative(rules, make):
    user = make.user()
    service.award(user.id, "suggestion_adopted", "s:1")  # 20
    db.session.commit()
    outcomes = run_at_once(_workers.spend, [(user.id, 6, f"redemption:{n}") for n in range(5)])
    results = Counter(code for _, code in outcomes)
    assert results == {"ok": 3, "POINTS_INSUFFICIENT": 2}, outcomes
    acc = account(user.id)
    assert (acc.balance, acc.spent_total) == (2, 18)
    assert min(r.balance_after for r in rows_of(user.id)) == 2
    assert_ledger_sound()


def test_awards_and_spends_of_one_user_at_once(rules, make):
    user = make.user()
    service.award(user.id, "waste_free_week", "w:1")  # 5
    db.session.commit()
    awards = [("award", (user.id, "suggestion_adopted", f"s:{n}", NOON)) for n in range(4)]
    spends = [("spend", (user.id, 4, f"redemption:{n}")) for n in range(2)]
    outcomes = dict(run_at_once(_workers.either, awards + spends))
    assert Counter(outcomes[f"s:{n}"] for n in range(4)) == {20: 3, None: 1}, outcomes  # the monthly cap
    assert {outcomes[f"redemption:{n}"] for n in range(2)} <= {"ok", "POINTS_INSUFFICIENT"}, outcomes
    paid = 60
    spent = 4 * sum(outcomes[f"redemption:{n}"] == "ok" for n in range(2))
    assert spent >= 4  # the first spend always finds the 5 points
    assert service.balance(user.id) == 5 + paid - spent >= 0
    assert_ledger_sound()


def test_one_reversal_wins(rules, make):
    user = make.user()
    earn = service.award(user.id, "suggestion_adopted", "s:1")
    db.session.commit()
    outcomes = run_at_once(_workers.reverse, [(earn.id,)] * 3)
    assert Counter(code for _, code in outcomes) == {"ok": 1, "POINTS_ALREADY_REVERSED": 2}, outcomes
    assert [r.kind for r in rows_of(user.id)] == ["earn", "reverse"]
    assert service.balance(user.id) == 0
    assert_ledger_sound()


def test_concurrent_expiry_sweeps_expire_once(rules, make):
    users = [make.user() for _ in range(3)]
    for n, user in enumerate(users):
        service.award(user.id, "suggestion_adopted", f"s:{n}", now=at(2024, 1, 10))
        service.spend(user.id, n + 1, f"redemption:{n}")
    db.session.commit()
    outcomes = run_at_once(_workers.expire, [(at(2026, 3, 1).isoformat(),)] * 3)
    assert all(isinstance(count, int) for _, count in outcomes), outcomes
    assert sum(count for _, count in outcomes) == 3
    for n, user in enumerate(users):
        assert [r.amount for r in rows_of(user.id, "expire")] == [-(19 - n)]
        assert service.balance(user.id) == 0
    assert_ledger_sound()
