"""Work run in separate processes (multiprocessing, 'spawn'): each has its own app and
database connections, like another gunicorn worker or another host. Settings come from the
environment the test session exported (TEST_DATABASE_URL, TEST_REDIS_URL)."""

from __future__ import annotations

import os


def app_from_env(**overrides):
    """The app as a worker process builds it, on the test session's database and Redis."""
    from app import create_app

    return create_app({"APP_ENV": "test", "DATABASE_URL": os.environ["TEST_DATABASE_URL"],
                       "REDIS_URL": os.environ["TEST_REDIS_URL"], **overrides})


def run_at_once(target, calls: list[tuple], timeout: float = 120) -> list[tuple]:
    """Start one process per argument tuple of `calls`, each running
    target(*args, barrier, results), released together by the barrier; return what they put
    on `results`, in completion order. Every process must exit cleanly."""
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
