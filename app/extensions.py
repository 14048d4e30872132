"""Extension objects, created unbound: nothing connects at import time."""

from __future__ import annotations

import redis
from flask import Flask, current_app
from flask_limiter import Limiter
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def _rate_limit_key() -> str:
    # Keyed by the signed-in user (a whole building shares one address). Anonymous calls
    # (login) are keyed by address with a generous limit; login itself is limited per
    # openid in the WeChat service.
    from app.auth import current_principal_or_none
    from app.netutil import client_address

    principal = current_principal_or_none()
    if principal is not None:
        return f"user:{principal.user_id}"
    return f"addr:{client_address()}"


# Limits are read from the app's config on each request (one Limiter object serves every app
# a process creates; Flask-Limiter keeps the first app's configured defaults otherwise).
limiter = Limiter(key_func=_rate_limit_key, strategy="fixed-window",
                  default_limits=[lambda: current_app.config["RATELIMIT_DEFAULT"]])


def hit_limit(limit: str, *identifiers: str) -> bool:
    """Count one hit against `limit` for an identifier known only inside a service (an
    openid after code_to_session). False when the limit is exceeded; fails open like
    the route limits when Redis is down."""
    from limits import parse_many

    try:
        return all(limiter.limiter.hit(item, *identifiers) for item in parse_many(limit))
    except Exception:  # storage unreachable: fail open, as RATELIMIT_SWALLOW_ERRORS does
        return True


def init_redis(app: Flask) -> None:
    timeout = app.config["REDIS_SOCKET_TIMEOUT"]
    app.extensions["redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"],
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
    )


def get_redis() -> redis.Redis:
    return current_app.extensions["redis"]


def violated_constraint(exc: Exception) -> str | None:
    """The name of the constraint an IntegrityError (psycopg) violated, if PostgreSQL named one."""
    return getattr(getattr(getattr(exc, "orig", None), "diag", None), "constraint_name", None)


MAX_ID = 2**31 - 1  # ids are PostgreSQL integers


def get_row(model, row_id: int):
    """`db.session.get(model, row_id)`, or None for an id PostgreSQL cannot hold (no error)."""
    return db.session.get(model, row_id) if 0 < row_id <= MAX_ID else None
