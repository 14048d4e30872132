"""The platform's work run in separate processes (see tests/support/procs.py): one
lifecycle transition, one sweep."""

from __future__ import annotations

from tests.support.procs import app_from_env


def transition(order_id: int, name: str, actor_json: str, barrier, results) -> None:
    """Wait for the others, make one transition of the sample lifecycle, report "ok" or the error code."""
    try:
        from sqlalchemy import text

        from app.auth import Principal
        from app.errors import AppError
        from app.extensions import db
        from tests.platform.orders import SAMPLE

        with app_from_env().app_context():
            db.session.execute(text("SELECT 1"))  # connect before the start line
            db.session.rollback()
            actor = Principal.from_json(actor_json)
            barrier.wait(timeout=60)
            try:
                SAMPLE.transition(order_id, name, actor)
                db.session.commit()
                results.put((name, "ok"))
            except AppError as exc:
                db.session.rollback()
                results.put((name, exc.code))
    except Exception as exc:  # report, never leave the parent waiting
        results.put((name, repr(exc)))


def sweep(name: str, barrier, results) -> None:
    """Wait for the others, run one sweep (as the scheduler's job does), report its result."""
    try:
        from sqlalchemy import text

        from app.extensions import db
        from app.sweeps import run_sweep

        application = app_from_env()
        with application.app_context():
            db.session.execute(text("SELECT 1"))
            db.session.remove()
            barrier.wait(timeout=60)
            results.put((name, run_sweep(name)))
    except Exception as exc:
        results.put((name, repr(exc)))
