"""Job functions for the job tests (RQ imports them by name in the worker)."""

from flask import current_app

from app.extensions import db, get_redis
from app.jobs import job


@job
def mark(key: str, value: str) -> str:
    get_redis().set(key, value)
    return current_app.config["APP_ENV"]


@job
def session_identity() -> int:
    return id(db.session())
