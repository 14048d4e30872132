"""Mini-program codes of places: made by WeChat's getwxacodeunlimit (answers canned with
`responses`; wechatpy's own code runs), kept in PostgreSQL so WeChat is asked once, served as
PNG; every WeChat failure a 4xx/503 in the error shape; and once against the local stand-in
over real HTTP."""

from __future__ import annotations

import io
import json

import pytest
import requests
import responses
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db
from miniapp_api.standin import StandinServer
from models import Place, WxaCode
from tests.places.helpers import API, tree
from tests.support.wechat import APPID, FakeWeChat, assert_error, make_wechat_app, wechat_app_fixtures

PATH = "wxa/getwxacodeunlimit"


def png_bytes(size=(64, 64), fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (255, 255, 255)).save(out, format=fmt)
    return out.getvalue()


# This module's own WeChat-configured app; wx, api and make per test.
wx_app, wx, api, make = wechat_app_fixtures(scope="module")


@pytest.fixture
def wechat():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeWeChat(rsps)
        fake.token()
        yield fake


@pytest.fixture
def admin_h(make):
    return make.headers(make.user("admin"))


def cached() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(WxaCode)).scalar_one()


def test_code_is_fetched_once_and_served_as_png(api, wechat, admin_h):
    places = tree()
    image = png_bytes()
    wechat.rsps.post(wechat.url(PATH), body=image, content_type="image/png")
    url = f"{API}/places/{places['r301'].id}/wxa-code"
    resp = api.get(url, headers=admin_h)
    assert resp.status_code == 200, resp.get_data()[:200]
    assert resp.mimetype == "image/png" and resp.data == image
    assert f'filename="place-{places["r301"].id}.png"' in resp.headers["Content-Disposition"]
    [call] = wechat.calls(PATH)
    sent = json.loads(call.request.body)
    assert sent["scene"] == f"p={places['r301'].id}" and sent["page"] == "pages/scan/index" and sent["width"] == 430
    assert "access_token=ACCESS-1" in call.request.url
    # The second time (any process, any time) comes from PostgreSQL: WeChat is not asked again.
    again = api.get(url, headers=admin_h)
    assert again.status_code == 200 and again.data == image
    assert len(wechat.calls(PATH)) == 1
    row = db.session.execute(select(WxaCode)).scalar_one()
    assert (row.appid, row.scene, row.page, row.width) == (APPID, f"p={places['r301'].id}", "pages/scan/index", 430)
    # Another place is another code.
    assert api.get(f"{API}/places/{places['hall'].id}/wxa-code", headers=admin_h).status_code == 200
    assert len(wechat.calls(PATH)) == 2 and cached() == 2


def test_jpeg_from_wechat_becomes_png(api, wechat, admin_h):
    """WeChat answers Content-Type image/jpeg for an opaque code."""
    places = tree()
    wechat.rsps.post(wechat.url(PATH), body=png_bytes((280, 280), "JPEG"), content_type="image/jpeg")
    resp = api.get(f"{API}/places/{places['main'].id}/wxa-code", headers=admin_h)
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    with Image.open(io.BytesIO(resp.data)) as image:
        assert image.format == "PNG" and image.size == (280, 280)


def test_page_and_width_come_from_configuration(api, wechat, admin_h, monkeypatch):
    places = tree()
    wechat.rsps.post(wechat.url(PATH), body=png_bytes(), content_type="image/png")
    monkeypatch.setitem(api.application.config, "WXA_SCENE_PAGE", "pages/place/scan")
    monkeypatch.setitem(api.application.config, "WXA_CODE_WIDTH", 600)
    assert api.get(f"{API}/places/{places['main'].id}/wxa-code", headers=admin_h).status_code == 200
    sent = json.loads(wechat.calls(PATH)[0].request.body)
    assert (sent["page"], sent["width"]) == ("pages/place/scan", 600)
    # A different page is a different code: asked for anew, kept beside the first.
    monkeypatch.setitem(api.application.config, "WXA_SCENE_PAGE", "pages/other/scan")
    assert api.get(f"{API}/places/{places['main'].id}/wxa-code", headers=admin_h).status_code == 200
    assert len(wechat.calls(PATH)) == 2 and cached() == 2


@pytest.mark.parametrize(("answer", "status", "code"), [
    ({"json": {"errcode": 45009, "errmsg": "reach max api daily quota limit"}}, 429, "WX_RATE_LIMITED"),
    ({"json": {"errcode": -1, "errmsg": "system error"}}, 503, "WX_BUSY"),
    ({"json": {"errcode": 41030, "errmsg": "invalid page"}}, 503, "WXA_CODE_PAGE_INVALID"),
    ({"json": {"errcode": 40169, "errmsg": "invalid length for scene"}}, 503, "WX_BUSY"),
    ({"json": {"errcode": 0, "errmsg": "ok"}}, 503, "WX_BUSY"),                 # JSON, but no image
    ({"json": ["not", "an", "image"]}, 503, "WX_BUSY"),
    ({"body": "<html>upstream maintenance</html>", "content_type": "text/html"}, 503, "WX_BUSY"),
    ({"body": b"\xff\xd8\xff\xe0broken jpeg", "content_type": "image/jpeg"}, 503, "WX_BUSY"),
    ({"status": 502, "body": "<html>502 Bad Gateway</html>"}, 503, "WX_UNAVAILABLE"),
    ({"body": requests.ConnectionError("connection refused")}, 503, "WX_UNAVAILABLE"),
    ({"body": requests.Timeout("read timed out")}, 503, "WX_UNAVAILABLE"),
])
def test_wechat_failures_are_4xx_or_503_and_nothing_is_kept(api, wechat, admin_h, answer, status, code):
    places = tree()
    wechat.rsps.post(wechat.url(PATH), **answer)
    body = assert_error(api.get(f"{API}/places/{places['main'].id}/wxa-code", headers=admin_h), status, code)
    if code == "WXA_CODE_PAGE_INVALID":
        assert body["details"] == {"errcode": 41030, "page": "pages/scan/index"}
    assert cached() == 0


def test_token_errors_are_retried_a_bounded_number_of_times(api, wechat, admin_h):
    places = tree()
    wechat.rsps.post(wechat.url(PATH), json={"errcode": 40001, "errmsg": "invalid credential"})
    assert_error(api.get(f"{API}/places/{places['main'].id}/wxa-code", headers=admin_h), 503, "WX_BUSY")
    assert len(wechat.calls(PATH)) == 1 + api.application.config["WECHAT_TOKEN_RETRIES"]


def test_only_administrators_and_only_places_that_exist(api, wechat, make, admin_h):
    places = tree()
    wechat.rsps.post(wechat.url(PATH), body=png_bytes(), content_type="image/png")
    for user in (make.user(), make.user("auditor"), make.user(kind="visitor")):
        assert_error(api.get(f"{API}/places/{places['main'].id}/wxa-code", headers=make.headers(user)),
                     403, "FORBIDDEN")
    assert_error(api.get(f"{API}/places/424242/wxa-code", headers=admin_h), 404, "NOT_FOUND")
    assert_error(api.get(f"{API}/places/{2**40}/wxa-code", headers=admin_h), 404, "NOT_FOUND")
    assert_error(api.get(f"{API}/places/{places['main'].id}/wxa-code"), 401, "AUTH_REQUIRED")
    assert wechat.calls(PATH) == [] and cached() == 0
    # A retired place still has its code for administrators (to take it down or re-use it).
    places["hall"].is_active = False
    db.session.commit()
    assert api.get(f"{API}/places/{places['hall'].id}/wxa-code", headers=admin_h).status_code == 200


def test_without_wechat_the_answer_is_503_not_configured(client, make):
    """The shared test app has no WECHAT_APPID."""
    places = tree()
    resp = client.get(f"{API}/places/{places['main'].id}/wxa-code", headers=make.headers(make.user("admin")))
    assert_error(resp, 503, "WX_NOT_CONFIGURED")


def test_against_the_local_standin(server_urls):
    """A live round trip over HTTP: the stand-in makes a real QR PNG for the scene; the same
    code is served again without asking it."""
    from tests.factories import Factory

    with StandinServer() as standin:
        application = make_wechat_app(server_urls, WECHAT_API_BASE=standin.url)
        with application.app_context():
            make = Factory()
            building = Place(kind="building", name="综合楼")
            db.session.add(building)
            db.session.commit()
            h = make.headers(make.user("admin"))
            client = application.test_client()
            resp = client.get(f"{API}/places/{building.id}/wxa-code", headers=h)
            assert resp.status_code == 200, resp.get_data()[:300]
            with Image.open(io.BytesIO(resp.data)) as image:
                assert image.format == "PNG" and image.size[0] > 100
            assert client.get(f"{API}/places/{building.id}/wxa-code", headers=h).data == resp.data
            paths = [c["path"] for c in requests.get(standin.url + "_standin/calls", timeout=5).json()]
            assert paths.count(PATH) == 1
            # A WeChat error injected at the stand-in comes back as its 4xx/503.
            requests.post(standin.url + "_standin/faults", json={"path": PATH, "errcode": 45009}, timeout=5)
            other = Place(kind="building", name="主楼")
            db.session.add(other)
            db.session.commit()
            assert_error(client.get(f"{API}/places/{other.id}/wxa-code", headers=h), 429, "WX_RATE_LIMITED")
