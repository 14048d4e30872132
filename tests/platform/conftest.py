"""Fixtures of the platform-services tests: the test-only order table (tests/platform/orders.py,
its own metadata), an app that serves its blueprint, and the same app as a live gunicorn
server with several worker processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.auth import Principal
from app.extensions import db
from tests.conftest import make_test_app
from tests.platform.orders import SampleBase, SampleOrder, register

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sample_table(server_urls):
    engine = create_engine(server_urls["database"], poolclass=NullPool)
    SampleBase.metadata.create_all(engine)
    yield engine
    SampleBase.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture(autouse=True)
def _empty_sample_table(sample_table, app):
    yield
    db.session.remove()  # the test's transaction would block TRUNCATE
    with sample_table.begin() as conn:
        conn.execute(text(f"TRUNCATE {SampleOrder.__tablename__} RESTART IDENTITY"))


@pytest.fixture(scope="session")
def papp(server_urls, app, sample_table):
    application = make_test_app(server_urls)
    register(application)
    return application


@pytest.fixture
def pclient(papp):
    return papp.test_client()


def principal(user) -> Principal:
    return Principal.for_user(user)


def new_order(user, company=None, item="套餐A", qty=1, status="booked") -> SampleOrder:
    """An order created as the service would (with its creation row), committed."""
    from tests.platform.orders import SAMPLE

    order = SampleOrder(user_id=user.id, company_id=company.id if company else None, item=item, qty=qty,
                        status=status)
    db.session.add(order)
    SAMPLE.record_creation(order, principal(user))
    db.session.commit()
    return order


# --- the live server ---------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Live:
    def __init__(self, url: str, access_log: Path):
        self.url, self.access_log = url, access_log
        self.http = requests.Session()
        self.http.trust_env = False

    def post(self, path: str, json: dict, token: str, headers: dict | None = None) -> requests.Response:
        return requests.post(self.url + "/api/v1" + path, json=json, timeout=20,
                             headers={"Authorization": f"Bearer {token}", **(headers or {})},
                             proxies={"http": None, "https": None})

    def worker_pids(self, path: str) -> set[str]:
        """Which gunicorn workers answered `path` (access log lines "pid method path status")."""
        lines = [line.split() for line in self.access_log.read_text().splitlines()]
        return {pid for pid, _method, url, _status in lines if url == path}


@pytest.fixture(scope="session")
def live(server_urls, sample_table, tmp_path_factory):
    """tests/platform/liveapp.py under gunicorn with 3 worker processes."""
    run_dir = tmp_path_factory.mktemp("platform-live")
    access_log, output = run_dir / "access.log", run_dir / "gunicorn.log"
    port = _free_port()
    env = {**os.environ, "APP_ENV": "test", "DATABASE_URL": os.environ["TEST_DATABASE_URL"],
           "REDIS_URL": os.environ["TEST_REDIS_URL"], "NO_PROXY": "127.0.0.1,localhost"}
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "3", "-b", f"127.0.0.1:{port}", "--graceful-timeout", "2",
             "--access-logfile", str(access_log), "--access-logformat", "%(p)s %(m)s %(U)s %(s)s",
             "tests.platform.liveapp:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        server = Live(f"http://127.0.0.1:{port}", access_log)
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail("gunicorn exited:\n" + output.read_text(errors="replace"))
            try:
                if server.http.get(server.url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail("gunicorn did not become healthy:\n" + output.read_text(errors="replace"))
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
