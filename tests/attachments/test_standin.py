"""The local WeChat stand-in's content-security endpoints, over real HTTP: straight, and
through the app (miniapp_api/security.py and a photo upload) pointed at it."""

from __future__ import annotations

import pytest
import requests

from app.errors import AppError
from app.extensions import db
from miniapp_api import security
from miniapp_api.standin import StandinServer
from models import WechatIdentity
from models.attachments import Attachment
from tests.attachments.helpers import RED, image_bytes, stored_files, upload
from tests.support.wechat import assert_error, make_wechat_app, wechat_app_context

APPID = "wx-standin-sec"


class Standin:
    def __init__(self, url: str):
        self.url, self.http = url, requests.Session()
        self.http.trust_env = False  # never through a proxy from the environment

    def token(self) -> str:
        return self.http.post(self.url + "cgi-bin/stable_token",
                              json={"appid": APPID, "secret": "s"}).json()["access_token"]

    def post(self, path: str, token: str | None, **kwargs) -> dict:
        return self.http.post(self.url + path, params={"access_token": token}, **kwargs).json()

    def fault(self, path: str, **fault) -> None:
        self.http.post(self.url + "_standin/faults", json={"path": path, **fault}).raise_for_status()

    def calls(self, path: str) -> list[dict]:
        return [c for c in self.http.get(self.url + "_standin/calls").json() if c["path"] == path]

    def reset(self) -> None:
        self.http.delete(self.url + "_standin/faults").raise_for_status()
        self.http.delete(self.url + "_standin/calls").raise_for_status()


@pytest.fixture(scope="module")
def standin_server():
    with StandinServer() as server:
        yield server


@pytest.fixture
def standin(standin_server):
    s = Standin(standin_server.url)
    s.reset()
    yield s
    s.reset()


@pytest.fixture(scope="module")
def sapp(server_urls, standin_server):
    return make_wechat_app(server_urls, WECHAT_APPID=APPID, WECHAT_API_BASE=standin_server.url, WECHAT_TIMEOUT=1)


@pytest.fixture
def sx(sapp):
    with wechat_app_context(sapp):
        yield sapp


@pytest.fixture
def wx_user(sx):
    from tests.factories import Factory

    make = Factory()
    user = make.user()
    db.session.add(WechatIdentity(appid=APPID, openid=f"o-{user.id}", user_id=user.id))
    db.session.commit()
    return user, make.headers(user)


def test_msg_sec_check_answers_v2_verdicts(standin):
    token = standin.token()
    body = {"version": 2, "scene": 2, "openid": "o-1"}
    passed = standin.post("wxa/msg_sec_check", token, json={**body, "content": "饭菜可口"})
    assert passed["errcode"] == 0 and passed["result"] == {"suggest": "pass", "label": 100}
    risky = standin.post("wxa/msg_sec_check", token, json={**body, "content": "这是违禁内容"})
    assert risky["result"] == {"suggest": "risky", "label": 20001} and risky["trace_id"]
    assert risky["trace_id"] != passed["trace_id"]
    review = standin.post("wxa/msg_sec_check", token, json={**body, "content": "此条待复核"})
    assert review["result"]["suggest"] == "review"
    assert standin.post("wxa/msg_sec_check", token, json={"content": "x", "version": 1})["errcode"] == 47001
    assert standin.post("wxa/msg_sec_check", "forged", json={**body, "content": "x"})["errcode"] == 40001


def test_img_sec_check_calls_a_red_top_left_pixel_risky(standin):
    token = standin.token()

    def check(data: bytes, name: str = "a.jpg") -> dict:
        return standin.post("wxa/img_sec_check", token, files={"media": (name, data, "image/jpeg")})

    assert check(image_bytes(color=RED))["errcode"] == 87014
    assert check(image_bytes(color=RED, fmt="PNG"))["errcode"] == 87014
    assert check(image_bytes(color=(250, 60, 0)))["errcode"] == 0
    assert check(image_bytes(color=(10, 200, 30)))["errcode"] == 0
    assert check(image_bytes((800, 600)))["errcode"] == 40006  # over WeChat's 750 x 1334
    assert check(b"not an image")["errcode"] == 40113
    assert standin.post("wxa/img_sec_check", token, data={"x": "1"})["errcode"] == 41005
    assert standin.post("wxa/img_sec_check", None, files={"media": ("a.jpg", image_bytes())})["errcode"] == 40001


def test_app_checks_text_against_the_standin(sx, standin, wx_user):
    user, _ = wx_user
    assert security.check_text(user.id, "饭菜可口") == "pass"
    assert security.check_text(user.id, "此条待复核", security.SCENE_PROFILE) == "review"
    with pytest.raises(AppError) as risky:
        security.check_text(user.id, "违禁词语")
    assert risky.value.code == "CONTENT_RISKY" and risky.value.details["label"] == 20001
    assert risky.value.details["trace_id"].startswith("standin-")
    assert len(standin.calls("wxa/msg_sec_check")) == 3

    standin.fault("wxa/msg_sec_check", status=500)
    with pytest.raises(AppError) as down:
        security.check_text(user.id, "饭菜可口")
    assert down.value.code == "CONTENT_CHECK_UNAVAILABLE"
    standin.fault("wxa/msg_sec_check", delay=2)  # longer than WECHAT_TIMEOUT
    with pytest.raises(AppError) as slow:
        security.check_text(user.id, "饭菜可口")
    assert slow.value.code == "CONTENT_CHECK_UNAVAILABLE"


def test_upload_through_the_app_uses_the_standin(sx, standin, wx_user):
    _, h = wx_user
    client = sx.test_client()
    ok = upload(client, h, image_bytes((900, 700), color=(10, 200, 30)))
    assert ok.status_code == 201, ok.get_json()
    assert db.session.get(Attachment, ok.get_json()["id"]).security_verdict == "pass"
    before = stored_files()
    # The thumbnail sent is a JPEG: its red is no longer exactly (255, 0, 0), and still risky.
    assert_error(upload(client, h, image_bytes((900, 700), color=RED)), 422, "CONTENT_RISKY")
    standin.fault("wxa/img_sec_check", errcode=87014)  # injected, like any errcode
    assert_error(upload(client, h, image_bytes(color=(1, 2, 3))), 422, "CONTENT_RISKY")
    standin.fault("wxa/img_sec_check", status=503)
    assert_error(upload(client, h, image_bytes(color=(4, 5, 6))), 503, "CONTENT_CHECK_UNAVAILABLE")
    assert stored_files() == before
    assert len(standin.calls("wxa/img_sec_check")) == 4

