"""Run in separate processes (multiprocessing, 'spawn'): each has its own app and database
connections, like another gunicorn worker or another host. Settings come from the
environment the test session exported (TEST_DATABASE_URL, TEST_REDIS_URL)."""

from __future__ import annotations

import os


def _app():
    from app import create_app

    return create_app({"APP_ENV": "test", "DATABASE_URL": os.environ["TEST_DATABASE_URL"],
                       "REDIS_URL": os.environ["TEST_REDIS_URL"]})


def transition(order_id: int, name: str, actor_json: str, barrier, results) -> None:
    """Wait for the others, make one transition of the sample lifecycle, report "ok" or the error code."""
    try:
        from sqlalchemy import text

        from app.auth import Principal
        from app.errors import AppError
        from app.extensions import db
        from tests.platform.orders import SAMPLE

        with _app().app_context():
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

        application = _app()
        with application.app_context():
            db.session.execute(text("SELECT 1"))
            db.session.remove()
            barrier.wait(timeout=60)
            results.put((name, run_sweep(name)))
    except Exception as exc:
        results.put((name, repr(exc)))


def run_at_once(target, calls: list[tuple], timeout: float = 120) -> list[tuple]:
    """Start one process per argument tuple of `calls`, released together; their results."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(calls)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, results)) for args in calls]
    for p in procs:
        p.start()
    try:
        outcomes = [results.get(timeout=timeout) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert all(p.exitcode == 0 for p in procs)
    return outcomes
