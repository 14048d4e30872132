"""Fixtures of the platform-services tests: the test-only order table (tests/platform/orders.py,
its own metadata), an app that serves its blueprint, and the same app as a live gunicorn
server with several worker processes."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.auth import Principal
from app.extensions import db
from tests.conftest import make_test_app
from tests.platform.orders import SampleBase, SampleOrder, register
from tests.support.live import Live, run_gunicorn, server_env


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

class PlatformLive(Live):
    def post(self, path: str, json: dict, token: str, headers: dict | None = None) -> requests.Response:
        return requests.post(self.url + "/api/v1" + path, json=json, timeout=20,
                             headers={"Authorization": f"Bearer {token}", **(headers or {})},
                             proxies={"http": None, "https": None})


@pytest.fixture(scope="session")
def live(server_urls, sample_table, tmp_path_factory):
    """tests/platform/liveapp.py under gunicorn with 3 worker processes."""
    with run_gunicorn("tests.platform.liveapp:app", 3, server_env(), tmp_path_factory.mktemp("platform-live"),
                      live_class=PlatformLive) as server:
        yield server
