"""Ledger calls made from separate processes (see tests/support/procs.py), like other
gunicorn workers or RQ workers on other hosts: each has its own app and connections."""

from __future__ import annotations

from datetime import datetime

from tests.support.procs import app_from_env


def _ready():
    from sqlalchemy import text

    from app.extensions import db

    app = app_from_env()
    ctx = app.app_context()
    ctx.push()
    db.session.execute(text("SELECT 1"))  # connect before the start line
    db.session.rollback()
    return db


def award(user_id: int, rule_code: str, reference: str, now_iso: str, barrier, results) -> None:
    """Wait for the others, award once, commit; report (reference, amount or None)."""
    try:
        from blueprints.points import service

        db = _ready()
        barrier.wait(timeout=60)
        row = service.award(user_id, rule_code, reference, now=datetime.fromisoformat(now_iso))
        db.session.commit()
        results.put((reference, row.amount if row is not None else None))
    except Exception as exc:  # report, never leave the parent waiting
        results.put((reference, repr(exc)))


def spend(user_id: int, amount: int, reference: str, barrier, results) -> None:
    """Wait for the others, spend once, commit; report (reference, "ok" or the error code)."""
    try:
        from app.errors import AppError
        from blueprints.points import service

        db = _ready()
        barrier.wait(timeout=60)
        try:
            service.spend(user_id, amount, reference)
            db.session.commit()
            results.put((reference, "ok"))
        except AppError as exc:
            db.session.rollback()
            results.put((reference, exc.code))
    except Exception as exc:
        results.put((reference, repr(exc)))


def reverse(transaction_id: int, barrier, results) -> None:
    try:
        from app.errors import AppError
        from blueprints.points import service

        db = _ready()
        barrier.wait(timeout=60)
        try:
            service.reverse(transaction_id, reason="并发撤销")
            db.session.commit()
            results.put((transaction_id, "ok"))
        except AppError as exc:
            db.session.rollback()
            results.put((transaction_id, exc.code))
    except Exception as exc:
        results.put((transaction_id, repr(exc)))


def expire(now_iso: str, barrier, results) -> None:
    """Wait for the others, run the expiry sweep function itself (no advisory lock)."""
    try:
        from blueprints.points import service

        _ready()
        barrier.wait(timeout=60)
        results.put(("expire", service.expire_due(now=datetime.fromisoformat(now_iso))))
    except Exception as exc:
        results.put(("expire", repr(exc)))


def either(name: str, args: tuple, barrier, results) -> None:
    """award or spend, for tests that mix them."""
    globals()[name](*args, barrier, results)
