"""Fixtures for the points tests: the earning rules (the suite empties every table after each
test, the migration's seeded rules included), a test rule, Shanghai times, the ledger check."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.extensions import db
from app.timeutil import SHANGHAI
from blueprints.points.service import DEFAULT_RULES, check_ledger
from models.points import PointsAccount, PointsRule, PointsTransaction


def ensure_rules(*extra: dict) -> None:
    db.session.execute(pg_insert(PointsRule).values([*DEFAULT_RULES, *extra]).on_conflict_do_nothing())
    db.session.commit()


@pytest.fixture
def rules(app):
    ensure_rules()


# 3 points an award, at most 10 a day: 3, 3, 3, then a remainder of 1, then nothing.
PARTIAL = {"code": "test_partial", "name": "测试规则", "points": 3, "period": "day", "cap": 10, "description": ""}


@pytest.fixture
def partial_rule(rules):
    ensure_rules(PARTIAL)
    return PARTIAL


def at(year, month, day, hour=12, minute=0, second=0) -> datetime:
    """An Asia/Shanghai wall-clock time (aware)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def assert_ledger_sound() -> None:
    db.session.rollback()
    assert check_ledger() == []


def rows_of(user_id: int, kind: str | None = None) -> list[PointsTransaction]:
    db.session.expire_all()
    stmt = select(PointsTransaction).where(PointsTransaction.user_id == user_id).order_by(PointsTransaction.id)
    if kind:
        stmt = stmt.where(PointsTransaction.kind == kind)
    return list(db.session.execute(stmt).scalars())


def account(user_id: int) -> PointsAccount | None:
    db.session.expire_all()
    return db.session.get(PointsAccount, user_id)
