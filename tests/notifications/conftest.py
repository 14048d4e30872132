"""Fixtures for the notification tests: an app with WeChat configured and test templates,
pointed at a local WeChat stand-in (miniapp_api/standin.py) started afresh for each test,
and helpers to make users with WeChat identities and consents.

The app's context is pushed per test (like tests/wechat), so the shared `app` (no WeChat)
stays the current app for every other test."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, update

from app.extensions import db
from miniapp_api.standin import StandinServer
from models import WechatIdentity
from models.notifications import InAppMessage, NotificationConsent, NotificationOutbox
from tests.support.live import ROOT, server_env
from tests.support.wechat import make_wechat_app, wechat_app_context

APPID = "wx-notify"
WECHAT_TIMEOUT = 1
SEND = "cgi-bin/message/subscribe/send"
TEMPLATES = {
    # Defaults of app/notify.py with template ids, as a deployment configures them.
    "order_status_changed": {"template_id": "TPL-ORDER", "page": "pages/orders/detail?no={order_no}"},
    "generic_notice": {"template_id": "TPL-GENERIC"},
    # A long-term template (government mini-programs may have them).
    "duty_reminder": {"template_id": "TPL-DUTY", "title": "值班提醒：{subject}", "body": "{subject}，{start}开始",
                      "fields": {"thing1": "{subject}", "time2": "{start}"}, "long_term": True},
}


def wechat_env(standin_url: str, templates_file: Path) -> dict:
    """Environment for a subprocess (worker, CLI, second sender) using the same servers."""
    env = server_env(WECHAT_APPID=APPID, WECHAT_SECRET="notify-secret", WECHAT_API_BASE=standin_url,
                     WECHAT_TIMEOUT=str(WECHAT_TIMEOUT), NOTIFICATION_TEMPLATES_FILE=str(templates_file),
                     NOTIFY_MINIPROGRAM_STATE="trial", PYTHONPATH=str(ROOT))
    env.pop("WECHAT_PROXY", None)
    return env


FLASK = [sys.executable, "-m", "flask", "--app", "app"]


@pytest.fixture(scope="session")
def templates_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("notify") / "templates.json"
    path.write_text(json.dumps(TEMPLATES, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def napp(app, server_urls):
    return make_wechat_app(server_urls, WECHAT_APPID=APPID, WECHAT_SECRET="notify-secret",
                           WECHAT_API_BASE="http://127.0.0.1:1/", WECHAT_TIMEOUT=WECHAT_TIMEOUT,
                           NOTIFICATION_TEMPLATES=TEMPLATES, NOTIFY_MINIPROGRAM_STATE="trial")


class Standin:
    def __init__(self, server: StandinServer):
        self.server, self.url = server, server.url
        self.http = requests.Session()
        self.http.trust_env = False

    def fault(self, path: str = SEND, **fault) -> None:
        self.http.post(self.url + "_standin/faults", json={"path": path, **fault}).raise_for_status()

    def clear_faults(self) -> None:
        self.http.delete(self.url + "_standin/faults").raise_for_status()

    def calls(self, path: str = SEND) -> list[dict]:
        return [c for c in self.http.get(self.url + "_standin/calls").json() if c["path"] == path]

    def delivered(self) -> list[dict]:
        return self.http.get(self.url + "_standin/delivered").json()

    def delivered_to(self, openid: str) -> list[dict]:
        return [d for d in self.delivered() if d["touser"] == openid]


@pytest.fixture
def standin():
    server = StandinServer().start()
    yield Standin(server)
    server.stop()


@pytest.fixture
def nx(napp, standin, monkeypatch):
    """napp's context for one test, its WeChat client pointed at this test's stand-in."""
    monkeypatch.setitem(napp.config, "WECHAT_API_BASE", standin.url)
    with wechat_app_context(napp):
        yield napp


@pytest.fixture
def nclient(nx):
    return nx.test_client()


@pytest.fixture
def wx_user(make):
    """A staff member with a WeChat identity for APPID (openid "o-<id>") and, optionally,
    one-time consents: wx_user(consents={"order_status_changed": 2})."""

    def create(consents: dict[str, int] | None = None, long_term: tuple[str, ...] = (), **kwargs):
        user = make.user(**kwargs)
        db.session.add(WechatIdentity(appid=APPID, openid=f"o-{user.id}", user_id=user.id))
        for template, count in (consents or {}).items():
            db.session.add(NotificationConsent(user_id=user.id, template=template, remaining=count))
        for template in long_term:
            db.session.add(NotificationConsent(user_id=user.id, template=template, long_term=True))
        db.session.commit()
        return user

    return create


def outbox(outbox_id: int) -> NotificationOutbox:
    db.session.expire_all()
    return db.session.get(NotificationOutbox, outbox_id)


def remaining(user_id: int, template: str) -> int | None:
    db.session.expire_all()
    return db.session.execute(select(NotificationConsent.remaining).where(
        NotificationConsent.user_id == user_id, NotificationConsent.template == template)).scalar_one_or_none()


def make_due(*outbox_ids: int) -> None:
    """Let the back-off (or the queued grace period) pass without sleeping."""
    db.session.execute(update(NotificationOutbox).where(NotificationOutbox.id.in_(outbox_ids))
                       .values(next_attempt_at=db.func.now() - db.text("interval '1 second'")))
    db.session.commit()


def messages_of(user_id: int) -> list[InAppMessage]:
    db.session.expire_all()
    return list(db.session.execute(select(InAppMessage).where(InAppMessage.user_id == user_id)
                                   .order_by(InAppMessage.id)).scalars())
