"""PostgreSQL advisory locks held on a dedicated connection, so they survive the ORM
session's commits inside the locked section and vanish if the process dies."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select

from app.extensions import db


def lock_key(name: str):
    return func.hashtextextended(name, 0)


@contextmanager
def try_advisory_lock(name: str) -> Iterator[bool]:
    """Yield True while holding the lock `name`, False at once if someone else holds it."""
    conn = db.engine.connect()
    acquired = False
    try:
        acquired = bool(conn.execute(select(func.pg_try_advisory_lock(lock_key(name)))).scalar())
        conn.commit()
        yield acquired
    finally:
        if acquired:
            try:
                conn.execute(select(func.pg_advisory_unlock(lock_key(name))))
                conn.commit()
            except Exception:
                conn.invalidate()  # never hand a connection still holding the lock to the pool
                raise
        conn.close()
