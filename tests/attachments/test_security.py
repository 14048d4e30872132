"""WeChat content security (miniapp_api/security.py) with WeChat's answers canned by
`responses`: text verdicts, failures that close the gate, and photos checked at upload."""

from __future__ import annotations

import io
import json

import pytest
import requests
import responses
from PIL import Image
from sqlalchemy import func, select

from app.errors import AppError
from app.extensions import db
from app.storage import get_storage
from blueprints.attachments import images
from miniapp_api import security
from models import WechatIdentity
from models.attachments import Attachment
from tests.attachments.helpers import RED, image_bytes, stored_files, upload
from tests.support.wechat import APPID, FakeWeChat, assert_error, wechat_app_fixtures

# This module's own WeChat-configured app; wx, api and make per test.
wx_app, wx, api, make = wechat_app_fixtures(scope="module")
MSG, IMG = "wxa/msg_sec_check", "wxa/img_sec_check"


@pytest.fixture
def wechat():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeWeChat(rsps)
        fake.token()
        yield fake


@pytest.fixture
def wx_user(make):
    user = make.user(name="评价人")
    db.session.add(WechatIdentity(appid=APPID, openid=f"o-{user.id}", user_id=user.id))
    db.session.add(WechatIdentity(appid="wx-other-app", openid="o-elsewhere", user_id=user.id))
    db.session.commit()
    return user


def refused(fn, *args) -> AppError:
    with pytest.raises(AppError) as info:
        fn(*args)
    return info.value


def rows() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(Attachment)).scalar_one()


def test_text_pass_sends_version_2_with_scene_and_openid(wx, wechat, wx_user):
    wechat.msg_sec("pass")
    assert security.check_text(wx_user.id, "食堂的菜很好吃", security.SCENE_COMMENT) == "pass"
    [call] = wechat.calls(MSG)
    assert json.loads(call.request.body) == {"content": "食堂的菜很好吃", "version": 2, "scene": 2,
                                             "openid": f"o-{wx_user.id}"}
    assert "access_token=ACCESS-1" in call.request.url


def test_text_review_is_accepted_as_review(wx, wechat, wx_user):
    wechat.msg_sec("review", label=21000)
    assert security.check_text(wx_user.id, "有点可疑", security.SCENE_FORUM) == "review"
    assert json.loads(wechat.calls(MSG)[0].request.body)["scene"] == 3


def test_text_risky_is_422_content_risky(wx, wechat, wx_user):
    wechat.msg_sec("risky", label=20001, trace_id="trace-risky")
    error = refused(security.check_text, wx_user.id, "违规内容")
    assert (error.code, error.status) == ("CONTENT_RISKY", 422)
    assert error.message == "内容含有违规信息，请修改后重新提交"
    assert error.details == {"kind": "text", "label": 20001, "trace_id": "trace-risky"}


@pytest.mark.parametrize("answer, reason", [
    ({"status": 500, "body": "Internal Server Error"}, "wx_unavailable"),
    ({"body": requests.exceptions.ReadTimeout("slow")}, "wx_unavailable"),
    ({"body": requests.exceptions.ConnectionError("refused")}, "wx_unavailable"),
    ({"json": {"errcode": -1, "errmsg": "system busy"}}, "wx_busy"),
    ({"json": {"errcode": 61010, "errmsg": "user access record expired"}}, "wx_busy"),
    ({"json": {"errcode": 0, "errmsg": "ok"}}, "wx_busy"),  # no verdict in the answer
    ({"body": "<html>gateway</html>", "content_type": "text/html"}, "wx_busy"),
])
def test_text_check_failing_is_503_unavailable(wx, wechat, wx_user, answer, reason):
    wechat.rsps.post(wechat.url(MSG), **answer)
    error = refused(security.check_text, wx_user.id, "内容")
    assert (error.code, error.status) == ("CONTENT_CHECK_UNAVAILABLE", 503)
    assert error.details["reason"] == reason


def test_text_of_a_user_without_openid_is_503_and_wechat_is_not_asked(wx, wechat, make):
    user = make.user()
    db.session.add(WechatIdentity(appid="wx-other-app", openid="o-elsewhere", user_id=user.id))
    db.session.commit()
    error = refused(security.check_text, user.id, "内容")
    assert (error.code, error.details) == ("CONTENT_CHECK_UNAVAILABLE", {"reason": "no_openid"})
    assert wechat.calls(MSG) == []


def test_long_text_is_checked_in_pieces_and_the_worst_counts(wx, wechat, wx_user):
    wechat.msg_sec("pass")
    wechat.msg_sec("review", label=21000)
    wechat.msg_sec("pass")
    text = "好" * 2500 + "中" * 2500 + "尾" * 10
    assert security.check_text(wx_user.id, text) == "review"
    contents = [json.loads(c.request.body)["content"] for c in wechat.calls(MSG)]
    assert contents == ["好" * 2500, "中" * 2500, "尾" * 10]


def test_empty_text_needs_no_check(wx, wechat, wx_user):
    assert security.check_text(wx_user.id, "  ") == "pass"
    assert wechat.calls(MSG) == []
    with pytest.raises(ValueError):
        security.check_text(wx_user.id, "x", 9)


def test_without_wechat_checks_are_skipped_but_production_fails_closed(app, monkeypatch):
    from tests.factories import Factory

    user = Factory().user()  # in the session app (no WeChat), not this module's WeChat app
    assert security.check_text(user.id, "内容") == "skipped"
    assert security.check_image(user.id, image_bytes()) == "skipped"
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    assert refused(security.check_text, user.id, "内容").code == "CONTENT_CHECK_UNAVAILABLE"
    assert refused(security.check_image, user.id, image_bytes()).code == "CONTENT_CHECK_UNAVAILABLE"


# --- photos ------------------------------------------------------------------------------

def test_uploaded_photo_thumbnail_is_checked_and_the_verdict_recorded(api, wechat, make):
    wechat.img_sec(0)
    user = make.user()  # no openid needed for images
    resp = upload(api, make.headers(user), image_bytes((1600, 1200)))
    assert resp.status_code == 201, resp.get_json()
    row = db.session.get(Attachment, resp.get_json()["id"])
    assert row.security_verdict == "pass"
    [call] = wechat.calls(IMG)
    thumbnail = get_storage().get(row.thumbnail_sha256)
    assert b'name="media"' in call.request.body and thumbnail in call.request.body
    with Image.open(io.BytesIO(thumbnail)) as sent:
        assert sent.size == (480, 360)


def test_risky_photo_is_422_and_nothing_is_stored(api, wechat, make):
    wechat.img_sec(87014)
    resp = upload(api, make.headers(make.user()), image_bytes(color=RED))
    body = assert_error(resp, 422, "CONTENT_RISKY")
    assert body["details"] == {"kind": "image"}
    assert rows() == 0 and stored_files() == set()


@pytest.mark.parametrize("answer", [
    {"status": 502, "body": "Bad Gateway"},
    {"body": requests.exceptions.ConnectTimeout("slow")},
    {"json": {"errcode": 45009, "errmsg": "reach max api daily quota limit"}},
])
def test_photo_check_unavailable_is_503_and_nothing_is_stored(api, wechat, make, answer):
    wechat.rsps.post(wechat.url(IMG), **answer)
    resp = upload(api, make.headers(make.user()), image_bytes())
    assert_error(resp, 503, "CONTENT_CHECK_UNAVAILABLE")
    assert rows() == 0 and stored_files() == set()


def test_check_image_fits_wechat_limits_whatever_the_thumbnail_size():
    processed = images.process(image_bytes((3000, 1000)), max_pixels=10**8, thumbnail_px=2000)
    with Image.open(io.BytesIO(processed.check_image)) as check:
        assert check.width <= 750 and check.height <= 1334
    assert len(processed.check_image) <= 1024 * 1024
    with Image.open(io.BytesIO(processed.thumbnail)) as thumb:
        assert thumb.size == (2000, 667)
