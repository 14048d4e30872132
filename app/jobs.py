"""Background jobs on RQ (Redis).

- `enqueue_after_commit(fn, *args)`: queue a job once the current transaction commits
  (a rolled-back order sends nothing). If Redis is unreachable the job is not queued; every
  job's work is also reachable by a sweep over PostgreSQL state (app/sweeps.py), so a lost
  or doubled job does no harm.
- `@job`: a job function runs inside an application context (a fresh database session),
  in the worker (`flask --app app worker`) or inline in tests.
- The worker is RQ's SimpleWorker (no fork: the SQLAlchemy pool is not shared across forks).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

import redis
from flask import Flask, current_app, has_app_context
from rq import Queue

from app.extensions import db
from app.txn import after_commit

log = logging.getLogger(__name__)
QUEUE_NAME = "default"
_worker_app: list[Flask] = []


def _app() -> Flask:
    if has_app_context():
        return current_app._get_current_object()
    if not _worker_app:
        from app import create_app

        _worker_app.append(create_app())
    return _worker_app[0]


def job(fn: Callable) -> Callable:
    """Run `fn` in its own application context (own database session), removed afterwards."""

    @wraps(fn)
    def run(*args, **kwargs):
        with _app().app_context():
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()

    return run


def queue_connection(app: Flask | None = None) -> redis.Redis:
    """A Redis connection for RQ: no short socket timeout (workers block on the queue)."""
    app = app or current_app
    return redis.Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=app.config["REDIS_SOCKET_TIMEOUT"])


def get_queue(app: Flask | None = None) -> Queue:
    app = app or current_app
    if "rq_queue" not in app.extensions:
        app.extensions["rq_queue"] = Queue(QUEUE_NAME, connection=queue_connection(app))
    return app.extensions["rq_queue"]


def enqueue(fn: Callable, *args, **kwargs) -> bool:
    """Queue a job now; False (logged) when Redis is unreachable: a sweep will catch up."""
    try:
        get_queue().enqueue(fn, *args, **kwargs)
        return True
    except redis.RedisError as exc:
        log.warning("job %s not queued (%s); its sweep will catch up", fn.__name__, type(exc).__name__)
        return False


def enqueue_after_commit(fn: Callable, *args, **kwargs) -> None:
    app = current_app._get_current_object()

    def _enqueue():
        with app.app_context():
            enqueue(fn, *args, **kwargs)

    after_commit(db.session, _enqueue)
