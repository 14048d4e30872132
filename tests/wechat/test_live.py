"""The app as a real server (gunicorn, two worker processes) against the local WeChat
stand-in (miniapp_api/standin.py) running in this test process: sign-in and both bindings
over HTTP, WeChat's faults, token expiry, and one access token shared by both workers
through Redis."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from miniapp_api.standin import StandinServer
from tests.support.live import Live, run_gunicorn, server_env

STAFF = {"employee_no": "E2001", "name": "王强", "phone": "13900002001"}
WECHAT_TIMEOUT = 1


@pytest.fixture(scope="module")
def standin_server():
    server = StandinServer().start()
    yield server
    server.stop()


class Standin:
    def __init__(self, url: str):
        self.url, self.http = url, requests.Session()
        self.http.trust_env = False  # never through a proxy from the environment

    def fault(self, path: str, **fault) -> None:
        self.http.post(self.url + "_standin/faults", json={"path": path, **fault}).raise_for_status()

    def expire_tokens(self) -> None:
        self.http.post(self.url + "_standin/expire-tokens").raise_for_status()

    def calls(self, path: str) -> list[dict]:
        return [c for c in self.http.get(self.url + "_standin/calls").json() if c["path"] == path]

    def reset(self) -> None:
        self.http.delete(self.url + "_standin/faults").raise_for_status()
        self.http.delete(self.url + "_standin/calls").raise_for_status()


@pytest.fixture
def standin(standin_server):
    s = Standin(standin_server.url)
    s.reset()
    yield s
    s.reset()


class WechatLive(Live):
    def post(self, path: str, json: dict, token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.post(self.url + "/api/v1" + path, json=json, headers=headers, timeout=10)

    def get(self, path: str, token: str) -> requests.Response:
        return self.http.get(self.url + "/api/v1" + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    def login(self, code: str) -> dict:
        resp = self.post("/wx/login", {"code": code})
        assert resp.status_code == 200, resp.text
        return resp.json()


@pytest.fixture(scope="module")
def live(server_urls, standin_server, tmp_path_factory):
    env = server_env(WECHAT_APPID="wx-live", WECHAT_SECRET="live-secret", WECHAT_API_BASE=standin_server.url,
                     WECHAT_TIMEOUT=str(WECHAT_TIMEOUT), RATELIMIT_BIND="100 per minute")
    env.pop("WECHAT_PROXY", None)
    with run_gunicorn("app:create_app()", 2, env, tmp_path_factory.mktemp("live"),
                      live_class=WechatLive, ready_timeout=20) as server:
        yield server


def _error(resp: requests.Response, status: int, code: str) -> dict:
    body = resp.json()
    assert resp.status_code == status, body
    assert set(body) == {"code", "message", "details"} and body["code"] == code, body
    return body


def test_login_and_bind_by_roster(live, standin, make):
    staff = make.user(**STAFF)
    visitor = live.login("live-roster")
    assert visitor["needs_binding"] is True and visitor["user"]["kind"] == "visitor"
    resp = live.post("/wx/bind", STAFF, token=visitor["token"])
    assert resp.status_code == 200, resp.text
    bound = resp.json()
    assert bound["user"]["id"] == staff.id and bound["needs_binding"] is False
    _error(live.get("/auth/me", visitor["token"]), 401, "TOKEN_INVALID")
    me = live.get("/auth/me", bound["token"]).json()
    assert (me["id"], me["kind"], me["phone"]) == (staff.id, "staff", "139****2001")
    # The same WeChat user (the stand-in derives the openid from the code) is now staff.
    again = live.login("live-roster")
    assert again["user"]["id"] == staff.id and again["needs_binding"] is False
    _error(live.post("/wx/bind", STAFF, token=again["token"]), 409, "WX_ALREADY_BOUND")
    # jscode2session needs no access token: none was sent, none fetched.
    logins = standin.calls("sns/jscode2session")
    assert len(logins) == 2 and all("access_token" not in c["args"] for c in logins)
    assert standin.calls("cgi-bin/stable_token") == []


def test_bind_by_phone_with_one_token_for_both_workers(live, standin, make):
    staff = make.user(name="李梅", employee_no="E2002", phone="13800001234")
    visitor = live.login("live-phone")
    # A first phone-number call fetches the token (in whichever worker takes it).
    _error(live.post("/wx/bind-phone", {"phone_code": "phone-13800009999"}, token=visitor["token"]),
           404, "ROSTER_NO_MATCH")
    # Slow WeChat answers keep a worker busy, so concurrent calls spread over both workers.
    standin.fault("wxa/business/getuserphonenumber", delay=0.4, times=6)
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda n: live.post("/wx/bind-phone", {"phone_code": f"phone-1380000999{n}"},
                                                    token=visitor["token"]), range(6)))
    assert [a.status_code for a in answers] == [404] * 6
    resp = live.post("/wx/bind-phone", {"phone_code": "phone-13800001234"}, token=visitor["token"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["user"]["id"] == staff.id
    assert live.get("/auth/me", resp.json()["token"]).json()["phone"] == "138****1234"
    assert len(live.worker_pids("/api/v1/wx/bind-phone")) == 2  # both workers answered
    assert len(standin.calls("wxa/business/getuserphonenumber")) == 8
    assert len(standin.calls("cgi-bin/stable_token")) == 1  # ...with one token, through Redis


@pytest.mark.parametrize(("path", "fault", "status", "code"), [
    ("sns/jscode2session", {"errcode": 40029}, 400, "WX_CODE_INVALID"),
    ("sns/jscode2session", {"errcode": -1}, 503, "WX_BUSY"),
    ("sns/jscode2session", {"errcode": 45011}, 429, "WX_RATE_LIMITED"),
    ("sns/jscode2session", {"status": 500}, 503, "WX_UNAVAILABLE"),
    ("sns/jscode2session", {"delay": WECHAT_TIMEOUT + 1}, 503, "WX_UNAVAILABLE"),
    ("wxa/business/getuserphonenumber", {"errcode": 40029}, 400, "WX_CODE_INVALID"),
    ("wxa/business/getuserphonenumber", {"delay": WECHAT_TIMEOUT + 1}, 503, "WX_UNAVAILABLE"),
    ("cgi-bin/stable_token", {"status": 502}, 503, "WX_UNAVAILABLE"),
])
def test_wechat_faults(live, standin, path, fault, status, code):
    token = live.login("live-faults")["token"]
    standin.fault(path, times=1, **fault)
    started = time.monotonic()
    if path == "sns/jscode2session":
        resp = live.post("/wx/login", {"code": "live-faults"})
    else:
        resp = live.post("/wx/bind-phone", {"phone_code": "phone-13800009999"}, token=token)
    _error(resp, status, code)
    assert time.monotonic() - started < WECHAT_TIMEOUT + 0.9  # a slow WeChat is given up on in time
    # The fault was for one call: the next one works.
    if path == "sns/jscode2session":
        assert live.post("/wx/login", {"code": "live-faults"}).status_code == 200
    else:
        retry = live.post("/wx/bind-phone", {"phone_code": "phone-13800009999"}, token=token)
        _error(retry, 404, "ROSTER_NO_MATCH")


def test_expired_tokens_are_refetched_once(live, standin, make):
    staff = make.user(name="赵敏", employee_no="E2003", phone="13800004321")
    token = live.login("live-expiry")["token"]
    _error(live.post("/wx/bind-phone", {"phone_code": "phone-13800009999"}, token=token), 404, "ROSTER_NO_MATCH")
    standin.expire_tokens()
    resp = live.post("/wx/bind-phone", {"phone_code": "phone-13800004321"}, token=token)
    assert resp.status_code == 200, resp.text
    assert resp.json()["user"]["id"] == staff.id
    assert len(standin.calls("cgi-bin/stable_token")) == 2  # the first fetch and one refetch
    assert len(standin.calls("wxa/business/getuserphonenumber")) == 3  # 404, 40001, retry


def test_proxy_carries_the_calls(api, standin, monkeypatch):
    """WECHAT_PROXY in use for real: WeChat's address is a closed port, the stand-in acts as
    the egress proxy (it answers absolute-URI requests), and login works only through it."""
    monkeypatch.setitem(api.application.config, "WECHAT_API_BASE", "http://127.0.0.1:1/")
    monkeypatch.setitem(api.application.config, "WECHAT_PROXY", standin.url)
    resp = api.post("/api/v1/wx/login", json={"code": "via-proxy"})
    assert resp.status_code == 200, resp.get_json()
    assert len(standin.calls("sns/jscode2session")) == 1
    monkeypatch.setitem(api.application.config, "WECHAT_PROXY", None)
    api.application.extensions.pop("wechat_client")
    direct = api.post("/api/v1/wx/login", json={"code": "via-proxy"})
    assert direct.status_code == 503 and direct.get_json()["code"] == "WX_UNAVAILABLE"
