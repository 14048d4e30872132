"""Test fixtures: real PostgreSQL and Redis.

With DATABASE_URL / REDIS_URL set (CI: the machine's servers) the suite creates its own
database on that server and uses its own Redis database number; without them it starts
embedded servers under var/. Each pytest-xdist worker gets its own database and Redis db.
Every test starts from empty tables and an empty Redis database.
"""

from __future__ import annotations

import contextvars
import os
import shutil
import tempfile

import pytest
import redis as redis_lib
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app import devservers, migrate

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
WORKER_NO = int(WORKER.removeprefix("gw") or 0)
# Several runs may share one server (developers running suites side by side): each run and
# worker gets its own database, and its own embedded Valkey when no REDIS_URL is given.
RUN = f"{WORKER}_{os.getpid()}"


def _redis_url(base: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{8 + WORKER_NO}"))


@pytest.fixture(scope="session")
def server_urls():
    db_server = os.environ.get("DATABASE_URL") or devservers.start_postgres("test")
    valkey = None
    redis_base = os.environ.get("REDIS_URL")
    if not redis_base:
        valkey = devservers.start_valkey(f"test-{RUN}")
        redis_base = valkey.connection_url
    database = f"jiguan_test_{RUN}"
    database_url = devservers.ensure_database(db_server, database, recreate=True)
    redis_url = _redis_url(redis_base)
    migrate.upgrade(database_url)
    # Subprocesses (live servers, concurrency tests) inherit these. Uploaded files of this run
    # go to a temporary directory (read by load_config from the environment, as in subprocesses).
    os.environ["TEST_DATABASE_URL"], os.environ["TEST_REDIS_URL"] = database_url, redis_url
    attachment_dir = tempfile.mkdtemp(prefix=f"jiguan-attachments-{RUN}-")
    os.environ["ATTACHMENT_DIR"] = attachment_dir
    yield {"database": database_url, "redis": redis_url, "db_server": db_server}
    shutil.rmtree(attachment_dir, ignore_errors=True)
    if valkey is not None:
        valkey.stop()
        shutil.rmtree(devservers.VAR / f"test-{RUN}-valkey", ignore_errors=True)
    devservers.drop_database(db_server, database)


def app_config(server_urls, **overrides) -> dict:
    return {"APP_ENV": "test", "DATABASE_URL": server_urls["database"], "REDIS_URL": server_urls["redis"],
            "WTF_CSRF_ENABLED": False, **overrides}


class IsolatedClient(FlaskClient):
    """Runs each request in an empty context, as a real server does: the request gets its
    own app context (own `g`, own database session) instead of reusing the one the test
    body has pushed. The test body sees the request's effects only once committed."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def make_test_app(server_urls, **overrides):
    from app import create_app

    application = create_app(app_config(server_urls, **overrides))
    application.test_client_class = IsolatedClient
    return application


_SESSION_APP = []


@pytest.fixture(scope="session")
def app(server_urls):
    application = make_test_app(server_urls)
    _SESSION_APP.append(application)
    with application.app_context():
        yield application


def _rebind_limiter() -> None:
    """Flask-Limiter keeps one storage per Limiter object and each create_app rebinds it; a
    test app with an unreachable Redis would leave later tests on the in-memory fallback
    (whose counters no flush clears). Point it back at the session app's Redis."""
    from app.extensions import limiter

    if _SESSION_APP:
        limiter.init_app(_SESSION_APP[0])
        limiter._storage_dead = False


@pytest.fixture(scope="session")
def _truncate(server_urls):
    import models  # noqa: F401
    from app.extensions import Base

    engine = create_engine(server_urls["database"], poolclass=NullPool)
    statement = text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                     + " RESTART IDENTITY CASCADE")

    from blueprints.points.service import DEFAULT_RULES
    from models.points import PointsRule

    def truncate():
        """Empty every table, then put back the reference data the migrations seed (the
        points rules), as a fresh database has it."""
        with engine.begin() as conn:
            conn.execute(statement)
            conn.execute(PointsRule.__table__.insert(), DEFAULT_RULES)

    yield truncate
    engine.dispose()


@pytest.fixture(autouse=True)
def clean(request, server_urls, _truncate):
    """Empty every table and the Redis database after each test."""
    yield
    if "app" in request.fixturenames:
        from app.extensions import db

        db.session.remove()  # release the test's own transaction before truncating
    _truncate()
    redis_lib.Redis.from_url(server_urls["redis"]).flushdb()
    _rebind_limiter()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def redis(app):
    from app.extensions import get_redis

    return get_redis()


# --- factories ---------------------------------------------------------------------------

@pytest.fixture
def make(app):
    from tests.factories import Factory

    return Factory()
