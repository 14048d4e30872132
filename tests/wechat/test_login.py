"""WeChat sign-in and binding, in process: the real wechatpy code with WeChat's answers
canned by `responses`, real PostgreSQL and Redis."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import func, select

from app.crypto import decrypt
from app.extensions import db
from miniapp_api.service import SESSION_KEY_PURPOSE
from models import User, WechatIdentity
from tests.conftest import make_test_app
from tests.support.wechat import APPID, SESSION_KEY, assert_error, bearer, wechat_config

STAFF = {"employee_no": "E1001", "name": "王芳", "phone": "13900000001"}


def _login(api, code: str = "code-1"):
    return api.post("/api/v1/wx/login", json={"code": code})


def _visitor(api, wechat, openid: str = "o-alice") -> str:
    wechat.session(openid)
    body = _login(api).get_json()
    assert body["needs_binding"] is True, body
    return body["token"]


def _staff(make, **fields):
    return make.user(**{"employee_no": STAFF["employee_no"], "name": STAFF["name"], "phone": STAFF["phone"],
                        **fields})


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- login -------------------------------------------------------------------------------

def test_new_user_becomes_visitor_and_session_key_stays_secret(api, wechat, caplog):
    caplog.set_level(logging.DEBUG)
    wechat.session("o-alice", unionid="u-alice")
    resp = _login(api, "code-1")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["needs_binding"] is True and body["token"]
    assert body["user"]["kind"] == "visitor" and [r["role"] for r in body["user"]["roles"]] == ["visitor"]
    text = resp.get_data(as_text=True)
    assert SESSION_KEY not in text and "session_key" not in text
    assert SESSION_KEY not in caplog.text and "session_key" not in caplog.text
    # The one call WeChat saw: jscode2session with the code, no access token, no token fetch.
    (call,) = wechat.rsps.calls
    assert call.request.params["js_code"] == "code-1" and "access_token" not in call.request.params
    identity = db.session.execute(select(WechatIdentity)).scalar_one()
    assert (identity.appid, identity.openid, identity.unionid) == (APPID, "o-alice", "u-alice")
    assert identity.user_id == body["user"]["id"]
    assert SESSION_KEY not in identity.session_key_enc
    assert decrypt(identity.session_key_enc, SESSION_KEY_PURPOSE) == SESSION_KEY
    me = api.get("/api/v1/auth/me", headers=bearer(body["token"])).get_json()
    assert me["kind"] == "visitor" and me["id"] == body["user"]["id"]


def test_returning_user_gets_the_same_account(api, wechat):
    wechat.session("o-alice", session_key="first-key")
    first = _login(api, "code-1").get_json()
    wechat.rsps.reset()
    wechat.session("o-alice", session_key="second-key")
    second = _login(api, "code-2").get_json()
    assert second["user"]["id"] == first["user"]["id"] and second["token"] != first["token"]
    assert _count(User) == 1 and _count(WechatIdentity) == 1
    identity = db.session.execute(select(WechatIdentity)).scalar_one()
    assert decrypt(identity.session_key_enc, SESSION_KEY_PURPOSE) == "second-key"


def test_concurrent_first_logins_of_one_person_make_one_account(api, wechat):
    """A mini-program that calls wx.login twice at launch: both requests pass WeChat at the
    same moment and both find no account; one creates it, the other uses it (no 500)."""
    both_asked = threading.Barrier(2, timeout=5)

    def answer(request):
        both_asked.wait()
        return 200, {}, '{"openid": "o-alice", "session_key": "k"}'

    wechat.rsps.add_callback("GET", wechat.url("sns/jscode2session"), callback=answer)
    results = []
    threads = [threading.Thread(target=lambda c=c: results.append(_login(api, c))) for c in ("c1", "c2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(r.status_code for r in results) == [200, 200], [r.get_json() for r in results]
    assert len({r.get_json()["user"]["id"] for r in results}) == 1
    assert _count(User) == 1 and _count(WechatIdentity) == 1


def test_login_rate_limited_per_openid(server_urls, wechat):
    application = make_test_app(server_urls, **wechat_config(RATELIMIT_LOGIN="2 per day"))
    with application.app_context():
        api = application.test_client()
        wechat.session("o-alice")
        assert [_login(api, f"c{i}").status_code for i in range(2)] == [200, 200]
        body = assert_error(_login(api, "c3"), 429, "RATE_LIMITED")
        assert body["details"] == {"limit": "2 per day"}
        wechat.session("o-bob")  # another person is not affected
        assert _login(api, "c4").status_code == 200
        db.session.remove()


# --- binding by roster -------------------------------------------------------------------

def test_bind_by_roster(api, wechat, make):
    staff = _staff(make)
    visitor_token = _visitor(api, wechat)
    visitor_id = api.get("/api/v1/auth/me", headers=bearer(visitor_token)).get_json()["id"]
    resp = api.post("/api/v1/wx/bind", json=STAFF, headers=bearer(visitor_token))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["needs_binding"] is False and body["user"]["id"] == staff.id
    assert STAFF["phone"] not in resp.get_data(as_text=True)
    # The visitor token is revoked at once; the new one is the staff member's.
    assert_error(api.get("/api/v1/auth/me", headers=bearer(visitor_token)), 401, "TOKEN_INVALID")
    me = api.get("/api/v1/auth/me", headers=bearer(body["token"])).get_json()
    assert (me["id"], me["kind"], me["name"], me["phone"]) == (staff.id, "staff", "王芳", "139****0001")
    # The placeholder account is disabled and the WeChat identity moved to the staff member.
    db.session.expire_all()
    assert db.session.get(User, visitor_id).is_active is False
    assert db.session.execute(select(WechatIdentity.user_id)).scalar_one() == staff.id
    # Signing in again with the same WeChat signs the staff member in directly.
    wechat.session("o-alice")
    again = _login(api, "code-later").get_json()
    assert again["needs_binding"] is False and again["user"]["id"] == staff.id
    # Binding again as staff: this WeChat is already bound.
    assert_error(api.post("/api/v1/wx/bind", json=STAFF, headers=bearer(again["token"])), 409, "WX_ALREADY_BOUND")
    assert_error(api.post("/api/v1/wx/bind-phone", json={"phone_code": "x"}, headers=bearer(again["token"])),
                 409, "WX_ALREADY_BOUND")


def test_bind_by_roster_refuses_mismatches(api, wechat, make):
    _staff(make)
    make.user(employee_no="E1002", name="离职者", phone="13900000002").is_active = False
    db.session.commit()
    token = _visitor(api, wechat)
    # Four tries and the right one: RATELIMIT_BIND allows five a minute.
    for wrong in ({"name": "王芳芳"}, {"phone": "13900000009"}, {"employee_no": "E9999"},
                  {"employee_no": "E1002", "name": "离职者", "phone": "13900000002"}):  # left: disabled
        body = assert_error(api.post("/api/v1/wx/bind", json={**STAFF, **wrong}, headers=bearer(token)),
                            404, "ROSTER_NO_MATCH")
        assert body["details"] == {}  # nothing says which field was wrong
    # Spaces around the fields and a +86 prefix are accepted.
    resp = api.post("/api/v1/wx/bind", headers=bearer(token),
                    json={"employee_no": " E1001 ", "name": " 王芳 ", "phone": "+86 139-0000-0001"})
    assert resp.status_code == 200, resp.get_json()


def test_bind_by_roster_when_staff_already_bound_elsewhere(api, wechat, make):
    _staff(make)
    first = _visitor(api, wechat, "o-alice")
    assert api.post("/api/v1/wx/bind", json=STAFF, headers=bearer(first)).status_code == 200
    second = _visitor(api, wechat, "o-mallory")
    assert_error(api.post("/api/v1/wx/bind", json=STAFF, headers=bearer(second)), 409, "ROSTER_ALREADY_BOUND")
    assert api.get("/api/v1/auth/me", headers=bearer(second)).get_json()["kind"] == "visitor"


def test_bind_needs_a_token(api):
    assert_error(api.post("/api/v1/wx/bind", json=STAFF), 401, "AUTH_REQUIRED")


# --- binding by WeChat phone number --------------------------------------------------------

def test_bind_by_phone_code(api, wechat, make):
    staff = _staff(make, phone="13800001234")
    make.user(kind="contractor", company=make.company(), phone="13800005678")  # not staff: no match
    token = _visitor(api, wechat)
    wechat.token("ACCESS-1")
    wechat.phone("13800001234")
    resp = api.post("/api/v1/wx/bind-phone", json={"phone_code": "pc-1"}, headers=bearer(token))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["user"]["id"] == staff.id and resp.get_json()["needs_binding"] is False
    (call,) = wechat.calls("wxa/business/getuserphonenumber")
    assert call.request.params["access_token"] == "ACCESS-1" and call.request.body == b'{"code": "pc-1"}'
    assert_error(api.get("/api/v1/auth/me", headers=bearer(token)), 401, "TOKEN_INVALID")
    me = api.get("/api/v1/auth/me", headers=bearer(resp.get_json()["token"])).get_json()
    assert me["phone"] == "138****1234"


def test_bind_by_phone_code_unknown_phone(api, wechat, make):
    make.user(kind="contractor", company=make.company(), phone="13800005678")
    token = _visitor(api, wechat)
    wechat.token()
    for number in ("13800009999", "13800005678"):  # nobody; a contractor, not staff
        wechat.phone(number)
        assert_error(api.post("/api/v1/wx/bind-phone", json={"phone_code": "pc"}, headers=bearer(token)),
                     404, "ROSTER_NO_MATCH")
    assert api.get("/api/v1/auth/me", headers=bearer(token)).get_json()["kind"] == "visitor"


def test_concurrent_binds_of_one_staff_member(api, wechat, make):
    """Two people bind the same roster entry at the same moment: one wins, the other gets
    ROSTER_ALREADY_BOUND, never two WeChat identities for one person."""
    staff = _staff(make, phone="13800001234")
    tokens = [_visitor(api, wechat, "o-alice"), _visitor(api, wechat, "o-mallory")]
    wechat.token()
    both_asked = threading.Barrier(2, timeout=5)

    def answer(request):
        both_asked.wait()
        return 200, {}, '{"errcode": 0, "phone_info": {"purePhoneNumber": "13800001234"}}'

    wechat.rsps.add_callback("POST", wechat.url("wxa/business/getuserphonenumber"), callback=answer)
    results = []

    def bind(token):
        results.append(api.post("/api/v1/wx/bind-phone", json={"phone_code": "pc"}, headers=bearer(token)))

    threads = [threading.Thread(target=bind, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(r.status_code for r in results) == [200, 409], [r.get_json() for r in results]
    assert db.session.scalar(select(func.count()).where(WechatIdentity.user_id == staff.id)) == 1


# --- the development login -----------------------------------------------------------------

def test_dev_login_absent_when_wechat_configured(api, make):
    make.user(employee_no="E1")
    assert_error(api.post("/api/v1/auth/dev-login", json={"employee_no": "E1"}), 404, "NOT_FOUND")


def test_dev_login_absent_in_production(server_urls):
    root = logging.getLogger()
    level = root.level
    try:
        application = make_test_app(
            server_urls, APP_ENV="production", SECRET_KEY="p" * 40, BLIND_INDEX_KEY="b" * 40,
            DATA_ENCRYPTION_KEYS="prod1:cHJvZHVjdGlvbi10ZXN0LWtleS0zMi1ieXRlcyEhISE=", WECHAT_APPID=None,
            QR_SIGNING_KEYS="prod1:" + "q" * 40)
    finally:
        root.setLevel(level)  # a production app logs at INFO
    assert application.config["APP_ENV"] == "production" and not application.config["WECHAT_APPID"]
    resp = application.test_client().post("/api/v1/auth/dev-login", json={"employee_no": "E1"})
    assert_error(resp, 404, "NOT_FOUND")


def test_dev_login_works_in_test_profile_without_wechat(server_urls):
    from tests.factories import Factory

    application = make_test_app(server_urls, WECHAT_APPID=None)
    with application.app_context():
        user = Factory().user(employee_no="E1")
        resp = application.test_client().post("/api/v1/auth/dev-login", json={"employee_no": "E1"})
        assert resp.status_code == 200 and resp.get_json()["user"]["id"] == user.id
        assert resp.get_json()["token"]
        # ...and WeChat login there says WeChat is not configured, in the error shape.
        assert_error(application.test_client().post("/api/v1/wx/login", json={"code": "c"}),
                     503, "WX_NOT_CONFIGURED")
        db.session.remove()
