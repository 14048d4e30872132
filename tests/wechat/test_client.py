"""The WeChat client against canned WeChat answers: every failure a clear 4xx/503 in the
error shape, the access token from the stable-token endpoint shared through Redis, token
retries bounded, the proxy and the API base URL taken from configuration."""

from __future__ import annotations

import json
import logging

import pytest
import redis as redis_lib
import requests

from app.extensions import get_redis
from miniapp_api import wechat as wx_module
from tests.support.wechat import APPID, SESSION_KEY, assert_error, bearer

TOKEN_KEY = f"wechatpy:{APPID}_access_token"  # wechatpy RedisStorage: "{prefix}:{appid}_access_token"


def _login(api, code: str = "code-1"):
    return api.post("/api/v1/wx/login", json={"code": code})


def _bind_phone(api, token: str, code: str = "pc-1"):
    return api.post("/api/v1/wx/bind-phone", json={"phone_code": code}, headers=bearer(token))


def _visitor(api, wechat) -> str:
    wechat.session()
    return _login(api).get_json()["token"]


# --- WeChat's errors -----------------------------------------------------------------------

@pytest.mark.parametrize(("errcode", "status", "code"), [
    (40029, 400, "WX_CODE_INVALID"),
    (40163, 400, "WX_CODE_INVALID"),
    (45011, 429, "WX_RATE_LIMITED"),
    (-1, 503, "WX_BUSY"),
    (40226, 403, "WX_USER_BLOCKED"),
    (40013, 503, "WX_BUSY"),  # anything else (here: a wrong app id) is a 503, not a 500
])
def test_login_errcodes(api, wechat, caplog, errcode, status, code):
    caplog.set_level(logging.DEBUG)
    wechat.errcode("GET", "sns/jscode2session", errcode)
    body = assert_error(_login(api), status, code)
    assert body["details"] == {"errcode": errcode}
    assert "secret=" not in caplog.text


@pytest.mark.parametrize(("answer", "code"), [
    ({"body": requests.ConnectionError("connection refused")}, "WX_UNAVAILABLE"),
    ({"body": requests.Timeout("read timed out")}, "WX_UNAVAILABLE"),
    ({"status": 502, "body": "<html>502 Bad Gateway</html>"}, "WX_UNAVAILABLE"),
    ({"status": 200, "body": "<html>upstream maintenance</html>"}, "WX_BUSY"),  # not JSON
    ({"status": 200, "json": {"errmsg": "no openid"}}, "WX_BUSY"),  # JSON, but not the answer
    ({"status": 200, "json": ["openid"]}, "WX_BUSY"),
])
def test_login_transport_failures_are_503(api, wechat, answer, code):
    wechat.rsps.get(wechat.url("sns/jscode2session"), **answer)
    assert_error(_login(api), 503, code)


def test_timeout_is_wechat_timeout(api, wechat, monkeypatch):
    monkeypatch.setitem(api.application.config, "WECHAT_TIMEOUT", 1.5)
    wechat.session()
    assert _login(api).status_code == 200
    assert wechat.rsps.calls[0].request.req_kwargs["timeout"] == 1.5


@pytest.mark.parametrize(("answer", "status", "code"), [
    ({"json": {"errcode": 40029, "errmsg": "invalid code"}}, 400, "WX_CODE_INVALID"),
    ({"json": {"errcode": -1, "errmsg": "system error"}}, 503, "WX_BUSY"),
    ({"json": {"errcode": 0, "errmsg": "ok"}}, 503, "WX_BUSY"),  # no phone_info
    ({"status": 502, "body": "bad gateway"}, 503, "WX_UNAVAILABLE"),
    ({"body": requests.ConnectionError("reset")}, 503, "WX_UNAVAILABLE"),
])
def test_phone_number_errors(api, wechat, answer, status, code):
    token = _visitor(api, wechat)
    wechat.token()
    wechat.rsps.post(wechat.url("wxa/business/getuserphonenumber"), **answer)
    assert_error(_bind_phone(api, token), status, code)
    assert api.get("/api/v1/auth/me", headers=bearer(token)).get_json()["kind"] == "visitor"


@pytest.mark.parametrize(("answer", "code"), [
    ({"json": {"errcode": 40013, "errmsg": "invalid appid"}}, "WX_BUSY"),
    ({"status": 502, "body": "bad gateway"}, "WX_UNAVAILABLE"),
    ({"status": 200, "body": "not json"}, "WX_UNAVAILABLE"),
    ({"body": requests.ConnectionError("refused")}, "WX_UNAVAILABLE"),
])
def test_token_fetch_errors_are_503(api, wechat, answer, code):
    token = _visitor(api, wechat)
    wechat.rsps.post(wechat.url("cgi-bin/stable_token"), **answer)
    assert_error(_bind_phone(api, token), 503, code)
    assert not wechat.calls("wxa/business/getuserphonenumber")


def test_token_store_unreachable_is_503(api, wechat, monkeypatch):
    dead = redis_lib.Redis.from_url("redis://127.0.0.1:1/0", socket_timeout=0.2, socket_connect_timeout=0.2)
    monkeypatch.setitem(api.application.extensions, "redis", dead)
    token = _visitor(api, wechat)  # login needs no access token, so it works without Redis
    wechat.token()
    body = assert_error(_bind_phone(api, token), 503, "WX_UNAVAILABLE")
    assert body["details"] == {"reason": "token_store"}
    assert not wechat.calls("wxa/business/getuserphonenumber")


# --- the access token ----------------------------------------------------------------------

def test_jscode2session_sends_no_access_token(api, wechat):
    wechat.session()
    assert _login(api).status_code == 200
    (call,) = wechat.rsps.calls  # no token fetch of any kind
    assert call.request.method == "GET"
    assert call.request.params == {"appid": APPID, "secret": "s", "js_code": "code-1",
                                   "grant_type": "authorization_code"}


def test_access_token_from_stable_token_shared_through_redis(api, wechat):
    redis = get_redis()
    token = _visitor(api, wechat)
    wechat.token("ACCESS-1", expires_in=7200)
    wechat.phone("13800009999")
    assert _bind_phone(api, token).status_code == 404  # nobody has that number; the token was used
    (fetch,) = wechat.calls("cgi-bin/stable_token")
    assert fetch.request.method == "POST" and not fetch.request.params
    assert json.loads(fetch.request.body) == {"grant_type": "client_credential", "appid": APPID, "secret": "s",
                                              "force_refresh": False}
    assert not wechat.calls("cgi-bin/token")
    assert json.loads(redis.get(TOKEN_KEY)) == "ACCESS-1"
    assert 7000 < redis.ttl(TOKEN_KEY) <= 7200 - 120  # stored a little short of WeChat's expiry

    # A second client (as in another process) reuses the token: no second fetch.
    first = api.application.extensions.pop("wechat_client")
    other = wx_module.get_client()
    assert other is not first
    assert other.get_user_phone_number("pc-2") == "13800009999"
    assert len(wechat.calls("cgi-bin/stable_token")) == 1
    assert [c.request.params["access_token"] for c in wechat.calls("wxa/business/getuserphonenumber")] == \
        ["ACCESS-1", "ACCESS-1"]


def test_expired_token_is_refetched_once(api, wechat, make):
    make.user(phone="13800001234")
    token = _visitor(api, wechat)
    wechat.token("OLD")
    wechat.token("NEW")
    wechat.errcode("POST", "wxa/business/getuserphonenumber", 40001)
    wechat.phone("13800001234")
    assert _bind_phone(api, token).status_code == 200
    assert len(wechat.calls("cgi-bin/stable_token")) == 2
    assert [c.request.params["access_token"] for c in wechat.calls("wxa/business/getuserphonenumber")] == \
        ["OLD", "NEW"]


@pytest.mark.parametrize("retries", [0, 2])
def test_persistent_invalid_token_stops_after_the_configured_retries(api, wechat, monkeypatch, retries):
    monkeypatch.setitem(api.application.config, "WECHAT_TOKEN_RETRIES", retries)
    token = _visitor(api, wechat)
    wechat.token()
    wechat.errcode("POST", "wxa/business/getuserphonenumber", 40001)
    body = assert_error(_bind_phone(api, token), 503, "WX_BUSY")
    assert body["details"] == {"errcode": 40001}
    assert len(wechat.calls("wxa/business/getuserphonenumber")) == 1 + retries
    assert len(wechat.calls("cgi-bin/stable_token")) == 1 + retries
    # The count starts afresh for the next request (it is per call, not per client).
    assert_error(_bind_phone(api, token), 503, "WX_BUSY")
    assert len(wechat.calls("wxa/business/getuserphonenumber")) == 2 * (1 + retries)


# --- configuration: API base and proxy -------------------------------------------------------

def test_api_base_from_configuration(api, wechat, monkeypatch, make):
    base = "https://wx-gateway.intra.example/wechat/"
    monkeypatch.setitem(api.application.config, "WECHAT_API_BASE", base.rstrip("/"))  # slash optional
    wechat.base = base
    make.user(phone="13800001234")
    token = _visitor(api, wechat)
    wechat.token()
    wechat.phone("13800001234")
    assert _bind_phone(api, token).status_code == 200
    assert [c.request.url.split("?")[0] for c in wechat.rsps.calls] == [
        base + "sns/jscode2session", base + "cgi-bin/stable_token", base + "wxa/business/getuserphonenumber"]


def test_proxy_from_configuration_wins_over_environment(api, wechat, monkeypatch, make):
    proxy = "http://egress.intra.example:3128"
    monkeypatch.setitem(api.application.config, "WECHAT_PROXY", proxy)
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://some-other-proxy.example:8080")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    make.user(phone="13800001234")
    token = _visitor(api, wechat)
    wechat.token()
    wechat.phone("13800001234")
    assert _bind_phone(api, token).status_code == 200
    assert len(wechat.rsps.calls) == 3
    for call in wechat.rsps.calls:  # login, token fetch, phone number: all through WECHAT_PROXY
        assert call.request.req_kwargs["proxies"]["https"] == proxy, call.request.url


def test_no_proxy_configured_leaves_environment_alone(api, wechat, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy.example:8080")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    wechat.session()
    assert _login(api).status_code == 200
    assert wechat.rsps.calls[0].request.req_kwargs["proxies"]["https"] == "http://env-proxy.example:8080"


def test_session_key_not_logged_on_failures(api, wechat, caplog):
    caplog.set_level(logging.DEBUG)
    wechat.rsps.get(wechat.url("sns/jscode2session"), status=500,
                    body=json.dumps({"openid": "o", "session_key": SESSION_KEY}))
    assert_error(_login(api), 503, "WX_UNAVAILABLE")
    assert SESSION_KEY not in caplog.text
