"""An app with WeChat configured, and WeChat itself mocked with `responses` (the real
wechatpy code runs; only WeChat's HTTP answers are canned): shared by the WeChat, places
and notification tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
import responses
from flask import Flask

from tests.conftest import make_test_app

APPID = "wx-test"
API_BASE = "https://api.weixin.qq.com/"
SESSION_KEY = "tiihtNczf5v6AKRyjwEUhQ=="  # what jscode2session answers; must never leave the server


def wechat_config(**overrides) -> dict:
    return {"WECHAT_APPID": APPID, "WECHAT_SECRET": "s", "WECHAT_API_BASE": API_BASE, **overrides}


def make_wechat_app(server_urls, **overrides) -> Flask:
    """A test app with WeChat configured (wechat_config(**overrides))."""
    return make_test_app(server_urls, **wechat_config(**overrides))


@contextmanager
def wechat_app_context(application: Flask) -> Iterator[Flask]:
    """The app's context for one test, with a WeChat client built afresh, so configuration a
    test changes (monkeypatch.setitem(app.config, ...)) takes effect.

    Pushed per test, not for the session, so the shared `app` (no WeChat, development login
    available) stays the current app for every other test."""
    application.extensions.pop("wechat_client", None)
    with application.app_context():
        yield application
    application.extensions.pop("wechat_client", None)


def wechat_app_fixtures(scope: str) -> tuple:
    """The fixtures of tests that run on their own WeChat-configured app, for a conftest or
    test module to take as `wx_app, wx, api, make = wechat_app_fixtures(scope)`:
    wx_app (made once per `scope`), wx (its context for one test, see wechat_app_context),
    api (its test client) and make (the factories, in that context)."""

    @pytest.fixture(scope=scope)
    def wx_app(server_urls):
        return make_wechat_app(server_urls)

    @pytest.fixture
    def wx(wx_app):
        with wechat_app_context(wx_app):
            yield wx_app

    @pytest.fixture
    def api(wx):
        return wx.test_client()

    @pytest.fixture
    def make(wx):
        from tests.factories import Factory

        return Factory()

    return wx_app, wx, api, make


class FakeWeChat:
    """Canned WeChat answers on top of a `responses` mock; unregistered URLs are refused
    (requests.ConnectionError), so a call the code should not make shows up as a failure."""

    def __init__(self, rsps: responses.RequestsMock, base: str = API_BASE):
        self.rsps, self.base = rsps, base

    def url(self, path: str) -> str:
        return self.base + path

    def session(self, openid: str = "o-alice", session_key: str = SESSION_KEY, **extra) -> None:
        self.rsps.get(self.url("sns/jscode2session"),
                      json={"openid": openid, "session_key": session_key, **extra})

    def token(self, value: str = "ACCESS-1", expires_in: int = 7200) -> None:
        self.rsps.post(self.url("cgi-bin/stable_token"), json={"access_token": value, "expires_in": expires_in})

    def phone(self, number: str) -> None:
        self.rsps.post(self.url("wxa/business/getuserphonenumber"), json={
            "errcode": 0, "errmsg": "ok",
            "phone_info": {"phoneNumber": number, "purePhoneNumber": number, "countryCode": "86"}})

    def msg_sec(self, suggest: str = "pass", label: int = 100, trace_id: str = "trace-1") -> None:
        """wxa/msg_sec_check (content security v2) answering `suggest` (pass / review / risky)."""
        self.rsps.post(self.url("wxa/msg_sec_check"), json={
            "errcode": 0, "errmsg": "ok", "trace_id": trace_id, "result": {"suggest": suggest, "label": label},
            "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label}]})

    def img_sec(self, errcode: int = 0) -> None:
        """wxa/img_sec_check answering errcode 0 (fine) or 87014 (risky)."""
        self.rsps.post(self.url("wxa/img_sec_check"),
                       json={"errcode": errcode, "errmsg": "ok" if errcode == 0 else "risky content"})

    def errcode(self, method: str, path: str, errcode: int) -> None:
        self.rsps.add(method, self.url(path), json={"errcode": errcode, "errmsg": f"errcode {errcode}"})

    def calls(self, path: str) -> list:
        return [c for c in self.rsps.calls if urlsplit(c.request.url).path.endswith("/" + path)]


def assert_error(resp, status: int, code: str) -> dict:
    body = resp.get_json()
    assert resp.status_code == status, body
    assert set(body) == {"code", "message", "details"} and body["code"] == code, body
    return body


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
