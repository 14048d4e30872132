"""Visits through the API: the three ways in (invitation, request, walk-in), host and
administrator decisions, the blacklist hold, visibility, and bad input as stable 4xx codes.
Every response of these tests is checked for the plaintext phones and ID numbers sent."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app import crypto
from app.extensions import db
from app.timeutil import SHANGHAI
from blueprints.visitors import personal
from models.notifications import InAppMessage
from models.visitors import Visit, VisitApplication, VisitorBlacklist, VisitorConsent
from tests.identity.helpers import assert_error
from tests.visitors.conftest import NOTICE, resident_id

API = "/api/v1/visitors"
NOW = datetime(2030, 6, 3, 8, 0, tzinfo=SHANGHAI)  # a Monday
HOST_PHONE = "13800001111"
VISITOR_PHONE = "13912345678"
VISITOR_ID = resident_id(1)
COMPANION_ID = resident_id(2)
# Plaintext that must never appear in any response (the host's phone, the visitor's data).
SECRETS = [HOST_PHONE, VISITOR_PHONE, VISITOR_ID, COMPANION_ID]


def at(day: int, hour: int, minute: int = 0, month: int = 6) -> str:
    return datetime(2030, month, day, hour, minute, tzinfo=SHANGHAI).isoformat()


class Api:
    """The test client, checking every answer for plaintext phones and ID numbers."""

    def __init__(self, client):
        self.client = client

    def _check(self, resp):
        text = resp.get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in text, (secret, text)
        return resp

    def get(self, path, headers):
        return self._check(self.client.get(API + path, headers=headers))

    def post(self, path, body, headers):
        return self._check(self.client.post(API + path, json=body, headers=headers))


@pytest.fixture
def api(client, visit_clock):
    visit_clock(NOW)
    return Api(client)


@pytest.fixture
def host(make):
    return make.user(name="张主任", phone=HOST_PHONE, department=make.department("办公室"))


@pytest.fixture
def visitor(make):
    return make.user(kind="visitor", name="微信用户")


@pytest.fixture
def guard(make):
    return make.user("guard", company=make.company("security"))


def person(**extra) -> dict:
    return {"notice_version": NOTICE, "name": "王访客", "phone": VISITOR_PHONE, "id_type": "resident_id",
            "id_number": VISITOR_ID, "company": "某某科技有限公司", **extra}


def request_body(**extra) -> dict:
    return {**person(), "host_name": "张主任", "host_phone": HOST_PHONE, "purpose": "商务洽谈",
            "starts_at": at(4, 9), "ends_at": at(4, 11), **extra}


def messages(user) -> list[InAppMessage]:
    db.session.expire_all()
    return list(db.session.execute(select(InAppMessage).where(InAppMessage.user_id == user.id)
                                   .order_by(InAppMessage.id)).scalars())


def statuses(application_id: int) -> list[str]:
    db.session.expire_all()
    return list(db.session.execute(select(Visit.status).where(Visit.application_id == application_id)
                                   .order_by(Visit.starts_at)).scalars())


def invite(api, make, host, **extra) -> dict:
    resp = api.post("/invitations", {"purpose": "项目对接", "starts_at": at(4, 9), "ends_at": at(4, 11), **extra},
                    make.headers(host))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


# --- invitations -----------------------------------------------------------------------------

def test_invitation_end_to_end(api, make, host, visitor):
    created = invite(api, make, host, visitor_name="王访客", plate="京A·12345")
    token = created["invitation_token"]
    assert created["invitation_path"] == f"pages/visitors/invitation?token={token}"
    assert created["status"] == "invited" and created["source"] == "invitation" and created["plate"] == "京A12345"
    assert created["invitation_expires_at"] == (NOW + timedelta(days=7)).isoformat()
    # only the SHA-256 of the token is stored
    row = db.session.get(VisitApplication, created["id"])
    assert row.invitation_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.invitation_hash

    seen = api.get(f"/invitations/{token}", make.headers(visitor))
    assert seen.status_code == 200
    view = seen.get_json()
    assert view["host_name"] == "张主任" and view["department"] == "办公室" and view["purpose"] == "项目对接"
    assert [v["starts_at"] for v in view["visits"]] == [at(4, 9)]
    assert view["completed"] is False and view["expired"] is False and view["notice_version"] == NOTICE
    assert "phone" not in str(view.keys())

    done = api.post(f"/invitations/{token}/complete",
                    person(companions=[{"name": "李随行", "id_type": "resident_id", "id_number": COMPANION_ID}]),
                    make.headers(visitor))
    assert done.status_code == 200, done.get_json()
    data = done.get_json()
    assert data["status"] == "approved" and [v["status"] for v in data["visits"]] == ["approved"]
    assert data["visitor_name"] == "王访客" and data["phone_masked"] == "139****5678"
    assert data["id_masked"] == VISITOR_ID[:3] + "*" * 11 + VISITOR_ID[-4:]
    assert data["companions"] == [{"name": "李随行", "id_type": "resident_id", "id_type_label": "居民身份证",
                                   "id_masked": COMPANION_ID[:3] + "*" * 11 + COMPANION_ID[-4:]}]
    assert data["companion_count"] == 1 and data["consent_version"] == NOTICE and data["plate"] == "京A12345"
    assert [t["to_state"] for t in data["visits"][0]["timeline"]] == ["invited", "approved"]
    db.session.expire_all()
    assert {v.user_id for v in db.session.get(VisitApplication, created["id"]).visits} == {visitor.id}
    assert [m.template for m in messages(host)] == ["visit_invitation_completed"]
    # the visitor now sees it in their list and in detail
    mine = api.get("/applications?role=visitor", make.headers(visitor)).get_json()
    assert [a["id"] for a in mine["items"]] == [created["id"]]
    assert api.get(f"/applications/{created['id']}", make.headers(visitor)).status_code == 200

    # once only: the same visitor again, someone else, or someone else only looking
    assert_error(api.post(f"/invitations/{token}/complete", person(), make.headers(visitor)), 409,
                 "VISIT_INVITATION_USED")
    other = make.user(kind="visitor")
    assert_error(api.post(f"/invitations/{token}/complete", person(), make.headers(other)), 409,
                 "VISIT_INVITATION_USED")
    assert_error(api.get(f"/invitations/{token}", make.headers(other)), 409, "VISIT_INVITATION_USED")
    assert_error(api.get("/invitations/not-a-token", make.headers(other)), 404, "VISIT_INVITATION_NOT_FOUND")


def test_invitation_expires_after_the_configured_days(api, make, host, visitor, visit_clock):
    created = invite(api, make, host, starts_at=at(20, 9), ends_at=at(20, 11))
    token = created["invitation_token"]
    visit_clock(NOW + timedelta(days=7))
    assert api.get(f"/invitations/{token}", make.headers(visitor)).get_json()["expired"] is True
    assert_error(api.post(f"/invitations/{token}/complete", person(), make.headers(visitor)), 409,
                 "VISIT_INVITATION_EXPIRED")
    visit_clock(NOW + timedelta(days=7) - timedelta(minutes=1))
    assert api.post(f"/invitations/{token}/complete", person(), make.headers(visitor)).status_code == 200


def test_cancelled_invitation_cannot_be_completed(api, make, host, visitor):
    created = invite(api, make, host)
    assert api.post(f"/applications/{created['id']}/cancel", {"reason": "会议改期"},
                    make.headers(host)).status_code == 200
    body = assert_error(api.post(f"/invitations/{created['invitation_token']}/complete", person(),
                                 make.headers(visitor)), 409, "INVALID_TRANSITION")
    assert body["details"]["current"] == "cancelled"
    # nothing of the visitor was stored
    db.session.expire_all()
    assert db.session.get(VisitApplication, created["id"]).id_number_enc is None


def test_host_cannot_complete_own_invitation(api, make, host):
    created = invite(api, make, host)
    assert_error(api.post(f"/invitations/{created['invitation_token']}/complete", person(), make.headers(host)),
                 422, "VISIT_HOST_SELF")


def test_invitation_room_booking_link(api, make, host):
    from tests.rooms.conftest import book, make_room

    room = make_room(make)
    start = datetime(2030, 6, 4, 9, tzinfo=SHANGHAI)
    mine = book(room, host, start, start + timedelta(hours=1))
    theirs = book(room, make.user(), start + timedelta(hours=1), start + timedelta(hours=2))
    later = book(room, host, start + timedelta(hours=5), start + timedelta(hours=6))
    assert invite(api, make, host, room_booking_id=mine.id)["room_booking_id"] == mine.id
    for booking_id in (theirs.id, later.id, 999999):
        resp = api.post("/invitations", {"purpose": "x", "starts_at": at(4, 9), "ends_at": at(4, 11),
                                         "room_booking_id": booking_id}, make.headers(host))
        assert_error(resp, 422, "VISIT_ROOM_BOOKING_INVALID")


def test_invitations_only_by_staff(api, make, visitor, guard):
    for who in (visitor, guard):
        resp = api.post("/invitations", {"purpose": "x", "starts_at": at(4, 9), "ends_at": at(4, 11)},
                        make.headers(who))
        assert_error(resp, 403, "FORBIDDEN")


# --- requests --------------------------------------------------------------------------------

def test_request_approved_by_host(api, make, host, visitor):
    resp = api.post("/applications", request_body(plate="粤B12345"), make.headers(visitor))
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    assert data["status"] == "pending" and data["source"] == "application" and data["host"]["name"] == "张主任"
    assert data["available_actions"] == ["cancel"]
    consent = db.session.get(VisitorConsent, db.session.get(VisitApplication, data["id"]).consent_id)
    assert consent.user_id == visitor.id and consent.notice_version == NOTICE
    notice = messages(host)[-1]
    assert notice.template == "visit_requested" and "王访客" in notice.title
    assert VISITOR_PHONE not in notice.body and VISITOR_ID not in notice.body

    # the visitor cannot approve their own request; the host can, once
    assert_error(api.post(f"/applications/{data['id']}/approve", None, make.headers(visitor)), 403, "FORBIDDEN")
    host_view = api.get(f"/applications/{data['id']}", make.headers(host)).get_json()
    assert host_view["available_actions"] == ["approve", "reject", "cancel"]
    approved = api.post(f"/applications/{data['id']}/approve", None, make.headers(host))
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert_error(api.post(f"/applications/{data['id']}/approve", None, make.headers(host)), 409,
                 "INVALID_TRANSITION")
    assert [m.template for m in messages(visitor)] == ["visit_approved"]
    assert host_view["phone_masked"] == "139****5678"


def test_request_rejected_with_reason(api, make, host, visitor):
    data = api.post("/applications", request_body(), make.headers(visitor)).get_json()
    assert_error(api.post(f"/applications/{data['id']}/reject", {}, make.headers(host)), 422, "VALIDATION_ERROR")
    resp = api.post(f"/applications/{data['id']}/reject", {"reason": "当天外出开会"}, make.headers(host))
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "rejected" and resp.get_json()["decision_reason"] == "当天外出开会"
    notice = messages(visitor)[-1]
    assert notice.template == "visit_rejected" and "当天外出开会" in notice.body
    assert statuses(data["id"]) == ["rejected"]


def test_host_lookup_never_says_which_part_was_wrong(api, make, host, visitor):
    make.user(name="李科长", phone="13800002222")
    wrong_name = api.post("/applications", request_body(host_name="李科长"), make.headers(visitor))
    no_such_phone = api.post("/applications", request_body(host_phone="13800009999"), make.headers(visitor))
    assert wrong_name.get_json() == no_such_phone.get_json()
    assert_error(wrong_name, 404, "VISIT_HOST_NOT_FOUND")
    # a disabled member of staff and a visitor with that phone are not hosts either
    host.is_active = False
    db.session.commit()
    assert_error(api.post("/applications", request_body(), make.headers(visitor)), 404, "VISIT_HOST_NOT_FOUND")
    assert db.session.execute(select(VisitApplication)).first() is None


def test_request_rate_limited(api, app, make, host, visitor, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_VISIT_APPLY", "2 per day")
    for _ in range(2):
        api.post("/applications", request_body(host_phone="13800009999"), make.headers(visitor))
    assert_error(api.post("/applications", request_body(), make.headers(visitor)), 429, "RATE_LIMITED")
    assert api.post("/applications", request_body(), make.headers(make.user(kind="visitor"))).status_code == 201


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"id_number": VISITOR_ID[:17] + ("0" if VISITOR_ID[17] != "0" else "1")}, 422, "VISIT_ID_INVALID"),
    ({"id_number": "110105198502301234"}, 422, "VISIT_ID_INVALID"),            # no 30 February
    ({"id_type": "passport", "id_number": "E12!"}, 422, "VISIT_ID_INVALID"),
    ({"id_type": "hk_macao_permit", "id_number": "X12345678"}, 422, "VISIT_ID_INVALID"),
    ({"id_type": "taiwan_permit", "id_number": "1234567"}, 422, "VISIT_ID_INVALID"),
    ({"id_type": "driving_licence"}, 422, "VALIDATION_ERROR"),
    ({"companions": [{"name": "李", "id_type": "resident_id", "id_number": "110105198503120000"}]}, 422,
     "VISIT_ID_INVALID"),
    ({"companions": [{"name": f"随行{i}", "id_type": "passport", "id_number": f"E1234567{i}"} for i in range(10)]},
     422, "VISIT_TOO_MANY_COMPANIONS"),
    ({"phone": "12345"}, 422, "VISIT_PHONE_INVALID"),
    ({"host_phone": "abc"}, 422, "VISIT_PHONE_INVALID"),
    ({"plate": "ABC"}, 422, "PARKING_PLATE_INVALID"),
    ({"notice_version": None}, 422, "VISIT_CONSENT_REQUIRED"),
    ({"notice_version": "2025-01"}, 422, "VISIT_CONSENT_REQUIRED"),
    ({"starts_at": at(3, 6), "ends_at": at(3, 7)}, 422, "VISIT_WINDOW_PAST"),
    ({"starts_at": at(4, 11), "ends_at": at(4, 9)}, 422, "VISIT_WINDOW_INVALID"),
    ({"starts_at": "2030-06-04T09:00:30+08:00"}, 422, "VISIT_WINDOW_INVALID"),
    ({"starts_at": at(4, 6), "ends_at": at(4, 19)}, 422, "VISIT_WINDOW_TOO_LONG"),
    ({"starts_at": at(5, 9, month=7), "ends_at": at(5, 11, month=7)}, 422, "VISIT_TOO_FAR_AHEAD"),
    ({"starts_at": "2030-06-04T09:00:00"}, 422, "VALIDATION_ERROR"),
    ({"host_name": "张主"}, 404, "VISIT_HOST_NOT_FOUND"),
    ({"host_phone": "13800009999"}, 404, "VISIT_HOST_NOT_FOUND"),
    ({"recurrence": {"weekdays": [1]}}, 422, "VALIDATION_ERROR"),                       # neither until nor count
    ({"recurrence": {"weekdays": [1], "count": 2, "until": "2030-06-20"}}, 422, "VALIDATION_ERROR"),
    ({"recurrence": {"weekdays": [0], "count": 2}}, 422, "VALIDATION_ERROR"),           # 4 June is a Tuesday
    ({"recurrence": {"weekdays": [9], "count": 2}}, 422, "VALIDATION_ERROR"),
    ({"recurrence": {"weekdays": [1], "until": "2030-06-01"}}, 422, "VALIDATION_ERROR"),
    ({"recurrence": {"weekdays": [1, 3], "count": 13}}, 422, "VISIT_SERIES_INVALID"),
    ({"recurrence": {"weekdays": [1], "count": 6}}, 422, "VISIT_TOO_FAR_AHEAD"),        # the 6th is 9 July
])
def test_bad_requests_are_4xx(api, make, host, visitor, change, status, code):
    body = {**request_body(), **change}
    body = {k: v for k, v in body.items() if v is not None or k != "notice_version"}
    assert_error(api.post("/applications", body, make.headers(visitor)), status, code)
    assert db.session.execute(select(VisitApplication)).first() is None
    assert db.session.execute(select(VisitorConsent)).first() is None


def test_bad_completion_and_walk_in_input(api, make, host, visitor, guard):
    token = invite(api, make, host)["invitation_token"]
    for change, code in (({"id_number": "11010519491231002"}, "VISIT_ID_INVALID"),
                         ({"notice_version": "old"}, "VISIT_CONSENT_REQUIRED")):
        assert_error(api.post(f"/invitations/{token}/complete", {**person(), **change}, make.headers(visitor)),
                     422, code)
    # a failed completion leaves the invitation open
    assert api.get(f"/invitations/{token}", make.headers(visitor)).get_json()["completed"] is False
    walk_in = {**person(), "host_name": "张主任", "host_phone": HOST_PHONE, "purpose": "送文件"}
    for change, status, code in (({"ends_at": at(3, 7)}, 422, "VISIT_WINDOW_PAST"),
                                 ({"ends_at": at(3, 23)}, 422, "VISIT_WINDOW_TOO_LONG"),
                                 ({"ends_at": at(3, 10), "host_name": "王五"}, 404, "VISIT_HOST_NOT_FOUND"),
                                 ({"ends_at": at(3, 10), "id_type": "passport", "id_number": "1"}, 422,
                                  "VISIT_ID_INVALID")):
        assert_error(api.post("/walk-ins", {**walk_in, **change}, make.headers(guard)), status, code)


# --- walk-ins --------------------------------------------------------------------------------

def test_walk_in_registered_by_guard_confirmed_by_host(api, make, host, guard, visit_clock):
    visit_clock(NOW + timedelta(seconds=42))
    resp = api.post("/walk-ins", {**person(), "host_name": "张主任", "host_phone": HOST_PHONE, "purpose": "送文件",
                                  "ends_at": at(3, 10)}, make.headers(guard))
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    assert data["source"] == "walk_in" and data["status"] == "pending"
    assert [(v["starts_at"], v["ends_at"]) for v in data["visits"]] == [(at(3, 8), at(3, 10))]
    row = db.session.get(VisitApplication, data["id"])
    assert row.visitor_user_id is None and row.created_by_id == guard.id
    consent = db.session.get(VisitorConsent, row.consent_id)
    assert consent.recorded_by_id == guard.id and consent.user_id is None
    assert messages(host)[-1].template == "visit_requested"
    assert api.post(f"/applications/{data['id']}/approve", None, make.headers(host)).get_json()["status"] == "approved"
    # only guards register walk-ins
    assert_error(api.post("/walk-ins", {**person(), "host_name": "张主任", "host_phone": HOST_PHONE, "purpose": "x",
                                        "ends_at": at(3, 10)}, make.headers(host)), 403, "FORBIDDEN")


# --- blacklist -------------------------------------------------------------------------------

def _blacklist(**values) -> VisitorBlacklist:
    entry = VisitorBlacklist(note="曾冒用他人证件", **values)
    db.session.add(entry)
    db.session.commit()
    return entry


def test_blacklisted_request_is_held_then_released_to_the_host(api, make, host, visitor):
    _blacklist(id_bidx=personal.id_index(VISITOR_ID), id_masked=personal.mask_id(VISITOR_ID))
    admin = make.user("admin")
    data = api.post("/applications", request_body(), make.headers(visitor)).get_json()
    assert data["status"] == "held" and data["held_reason"] is None  # the visitor never sees why
    assert [m.template for m in messages(host)] == ["visit_held"]
    assert "冒用" not in messages(host)[0].body
    host_view = api.get(f"/applications/{data['id']}", make.headers(host)).get_json()
    assert host_view["held_reason"] is None and "approve" not in host_view["available_actions"]
    # the host cannot approve or reject a held application: the administrators decide
    assert_error(api.post(f"/applications/{data['id']}/approve", None, make.headers(host)), 409,
                 "INVALID_TRANSITION")
    assert_error(api.post(f"/applications/{data['id']}/reject", {"reason": "x"}, make.headers(host)), 403,
                 "FORBIDDEN")
    admin_view = api.get(f"/applications/{data['id']}", make.headers(admin)).get_json()
    assert admin_view["held_reason"] == "命中黑名单：曾冒用他人证件"
    assert admin_view["available_actions"] == ["reject", "release", "cancel"]
    assert_error(api.post(f"/applications/{data['id']}/release", {}, make.headers(host)), 403, "FORBIDDEN")
    released = api.post(f"/applications/{data['id']}/release", {"reason": "已核实"}, make.headers(admin))
    assert released.status_code == 200 and released.get_json()["status"] == "pending"
    assert messages(host)[-1].template == "visit_released"
    assert api.post(f"/applications/{data['id']}/approve", None, make.headers(host)).get_json()["status"] == "approved"
    assert [t["transition"] for t in released.get_json()["visits"][0]["timeline"]] == [
        "create", "hold", "release_to_host"]


def test_blacklisted_invitation_is_held_then_released_to_approved(api, make, host, visitor):
    _blacklist(phone_bidx=crypto.phone_index(VISITOR_PHONE), phone_masked="139****5678")
    admin = make.user("admin")
    token = invite(api, make, host)["invitation_token"]
    data = api.post(f"/invitations/{token}/complete", person(), make.headers(visitor)).get_json()
    assert data["status"] == "held"
    assert messages(host)[-1].template == "visit_held" and messages(visitor) == []
    released = api.post(f"/applications/{data['id']}/release", {}, make.headers(admin)).get_json()
    assert released["status"] == "approved"
    assert [m.template for m in messages(visitor)] == ["visit_approved"]


def test_blacklisted_companion_by_name_holds_and_admin_may_reject(api, make, host, visitor):
    _blacklist(name="李随行")
    admin = make.user("admin")
    body = request_body(companions=[{"name": "李随行", "id_type": "passport", "id_number": "E12345678"}])
    data = api.post("/applications", body, make.headers(visitor)).get_json()
    assert data["status"] == "held"
    rejected = api.post(f"/applications/{data['id']}/reject", {"reason": "不予接待"}, make.headers(admin))
    assert rejected.get_json()["status"] == "rejected"
    assert messages(visitor)[-1].template == "visit_rejected"


# --- visibility ------------------------------------------------------------------------------

def test_only_host_visitor_guards_and_admins_see_an_application(api, make, host, visitor, guard):
    data = api.post("/applications", request_body(), make.headers(visitor)).get_json()
    colleague, other_visitor = make.user(department=host.department), make.user(kind="visitor")
    for stranger in (colleague, other_visitor):
        headers = make.headers(stranger)
        assert_error(api.get(f"/applications/{data['id']}", headers), 404, "NOT_FOUND")
        assert_error(api.post(f"/applications/{data['id']}/cancel", {}, headers), 404, "NOT_FOUND")
        assert_error(api.post(f"/visits/{data['visits'][0]['id']}/cancel", {}, headers), 404, "NOT_FOUND")
        assert api.get("/applications", headers).get_json()["total"] == 0
    assert_error(api.post(f"/applications/{data['id']}/approve", None, make.headers(colleague)), 404, "NOT_FOUND")
    assert_error(api.post(f"/applications/{data['id']}/approve", None, make.headers(other_visitor)), 403,
                 "FORBIDDEN")  # visitors never decide
    for reader in (guard, make.user("auditor"), make.user("admin")):
        assert api.get(f"/applications/{data['id']}", make.headers(reader)).status_code == 200
    assert statuses(data["id"]) == ["pending"]
    # a guard sees but may not decide
    assert_error(api.post(f"/applications/{data['id']}/approve", None, make.headers(guard)), 403, "FORBIDDEN")


def test_my_list_filters(api, make, host, visitor):
    first = api.post("/applications", request_body(), make.headers(visitor)).get_json()
    second = api.post("/applications", request_body(starts_at=at(6, 14), ends_at=at(6, 15)),
                      make.headers(visitor)).get_json()
    api.post(f"/applications/{second['id']}/approve", None, make.headers(host))
    headers = make.headers(host)
    assert [a["id"] for a in api.get("/applications", headers).get_json()["items"]] == [second["id"], first["id"]]
    assert [a["id"] for a in api.get("/applications?status=approved", headers).get_json()["items"]] == [second["id"]]
    assert [a["id"] for a in api.get("/applications?date_from=2030-06-05", headers).get_json()["items"]] == [
        second["id"]]
    assert [a["id"] for a in api.get("/applications?date_to=2030-06-04", headers).get_json()["items"]] == [
        first["id"]]
    assert api.get("/applications?role=visitor", headers).get_json()["total"] == 0
    assert api.get("/applications?role=visitor", make.headers(visitor)).get_json()["total"] == 2
    assert_error(api.get("/applications?status=nope", headers), 422, "VALIDATION_ERROR")


def test_invitation_idempotency_key_replays_the_first_answer(api, make, host):
    body = {"purpose": "项目对接", "starts_at": at(4, 9), "ends_at": at(4, 11)}
    headers = {**make.headers(host), "Idempotency-Key": "invite-1"}
    first = api.client.post(f"{API}/invitations", json=body, headers=headers)
    again = api.client.post(f"{API}/invitations", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert len(db.session.execute(select(VisitApplication)).all()) == 1


def test_staff_may_visit_a_colleague_but_not_themself(api, make, host):
    colleague = make.user(kind="staff")
    assert api.post("/applications", request_body(), make.headers(colleague)).status_code == 201
    assert_error(api.post("/applications", request_body(), make.headers(host)), 422, "VISIT_HOST_SELF")
