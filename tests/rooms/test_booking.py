"""Room bookings through the API: booking and its checks, privacy, delegation, edit, cancel,
approval, quotas, and the race for one slot from several processes."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.timeutil import SHANGHAI, utcnow
from models import RoleGrant
from models.notifications import InAppMessage
from models.rooms import RoomBooking, RoomDelegation, RoomQuota, RoomService
from tests.rooms.booking_helpers import post_worker
from tests.rooms.conftest import at, book, make_room
from tests.support.procs import run_at_once

NOW = at(2030, 6, 3, 8)  # Monday 08:00


def body(room, start, end, **extra) -> dict:
    return {"room_id": room.id, "start_at": start.isoformat(), "end_at": end.isoformat(), "subject": "周例会",
            "attendee_count": 5, **extra}


@pytest.fixture(autouse=True)
def _clock(room_clock):
    room_clock(NOW)


def test_book_and_see_details_only_on_the_organisers_side(client, make, room):
    dept = make.department("办公室")
    alice, bob, carol = make.user(department=dept), make.user(), make.user()
    resp = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10),
                                                           attendee_ids=[bob.id],
                                                           services=[{"kind": "tea_water", "note": "5 杯"}]),
                       headers=make.headers(alice))
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    assert data["status"] == "approved" and data["start_at"] == "2030-06-03T09:00:00+08:00"
    assert data["department"] == "办公室" and [a["id"] for a in data["attendees"]] == [bob.id]
    assert data["services"][0]["kind"] == "tea_water" and data["services"][0]["due_at"] == "2030-06-03T08:30:00+08:00"
    assert "cancel" in data["available_transitions"] and data["editable"] is True
    # the attendee sees it and was invited; a stranger gets 404
    assert client.get(f"/api/v1/rooms/bookings/{data['id']}", headers=make.headers(bob)).status_code == 200
    assert client.get(f"/api/v1/rooms/bookings/{data['id']}", headers=make.headers(carol)).status_code == 404
    invite = db.session.execute(select(InAppMessage).where(InAppMessage.user_id == bob.id)).scalar_one()
    assert invite.template == "room_invited" and "周例会" in invite.title
    mine = client.get("/api/v1/rooms/bookings", headers=make.headers(bob)).get_json()
    assert [b["id"] for b in mine["items"]] == [data["id"]]


def test_conflict_is_409_with_times_only(client, make, room):
    alice, bob = make.user(), make.user()
    book(room, alice, at(2030, 6, 3, 9), at(2030, 6, 3, 10), subject="机密")
    resp = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 9, 30), at(2030, 6, 3, 10, 30)),
                       headers=make.headers(bob))
    assert resp.status_code == 409 and resp.get_json()["code"] == "ROOM_TIME_CONFLICT"
    assert "机密" not in resp.get_data(as_text=True) and str(alice.name) not in resp.get_data(as_text=True)
    back_to_back = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 10), at(2030, 6, 3, 11)),
                               headers=make.headers(bob))
    assert back_to_back.status_code == 201


@pytest.mark.parametrize(("start", "end", "status", "code"), [
    ("2030-06-03T10:00:00+08:00", "2030-06-03T09:00:00+08:00", 422, "ROOM_RANGE_INVALID"),
    ("2030-06-03T09:00:30+08:00", "2030-06-03T10:00:00+08:00", 422, "ROOM_RANGE_INVALID"),
    ("2030-06-03T07:00:00+08:00", "2030-06-03T09:00:00+08:00", 422, "ROOM_IN_PAST"),
    ("2030-06-03T09:00:00+08:00", "2030-06-03T18:00:00+08:00", 422, "ROOM_TOO_LONG"),
    ("2030-06-03T20:30:00+08:00", "2030-06-03T21:30:00+08:00", 422, "ROOM_OUTSIDE_HOURS"),
    ("2030-06-08T09:00:00+08:00", "2030-06-08T10:00:00+08:00", 422, "ROOM_NOT_OPEN_DAY"),
    ("2030-09-03T09:00:00+08:00", "2030-09-03T10:00:00+08:00", 422, "ROOM_TOO_FAR_AHEAD"),
    ("2030-06-03T09:00:00", "2030-06-03T10:00:00", 422, "VALIDATION_ERROR"),
    ("9999-12-31T23:59:00+08:00", "9999-12-31T23:59:00+14:00", 422, None),
])
def test_bad_ranges_are_4xx(client, make, room, start, end, status, code):
    resp = client.post("/api/v1/rooms/bookings", json={**body(room, NOW, NOW), "start_at": start, "end_at": end},
                       headers=make.headers(make.user()))
    assert resp.status_code == status, resp.get_json()
    if code:
        assert resp.get_json()["code"] == code
    assert db.session.execute(select(RoomBooking)).first() is None


def test_bad_input_is_4xx(client, make, room):
    user, visitor = make.user(), make.user(kind="visitor")
    headers = make.headers(user)
    cases = [
        ({"room_id": 2**31}, 422), ({"room_id": 999999}, 404), ({"attendee_count": 99}, 422),
        ({"attendee_ids": [visitor.id]}, 422), ({"services": [{"kind": "tea_water"}, {"kind": "tea_water"}]}, 422),
        ({"subject": "   "}, 422), ({"on_behalf_of": visitor.id}, 403),
    ]
    for extra, status in cases:
        resp = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10), **extra),
                           headers=headers)
        assert resp.status_code == status, (extra, resp.get_json())
        assert resp.get_json()["message"]


def test_across_midnight_in_a_room_open_past_it(client, make):
    room = make_room(make, opens_at=time(18, 0), closes_at=time(2, 0), open_days="every_day")
    resp = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 23), at(2030, 6, 4, 1)),
                       headers=make.headers(make.user()))
    assert resp.status_code == 201 and resp.get_json()["end_at"] == "2030-06-04T01:00:00+08:00"
    utc = client.post("/api/v1/rooms/bookings", json=body(room, datetime(2030, 6, 3, 17, 0, tzinfo=SHANGHAI),
                                                           datetime(2030, 6, 3, 17, 30, tzinfo=SHANGHAI)),
                      headers=make.headers(make.user()))
    assert utc.get_json()["code"] == "ROOM_OUTSIDE_HOURS"
    later = client.post("/api/v1/rooms/bookings", json={**body(room, NOW, NOW), "start_at": "2030-06-04T17:30:00Z",
                                                         "end_at": "2030-06-04T18:00:00Z"},
                        headers=make.headers(make.user()))
    assert later.status_code == 201 and later.get_json()["start_at"] == "2030-06-05T01:30:00+08:00"


def test_secretary_books_for_a_leader_and_both_see_it(client, make, room):
    leader, secretary, other = make.user(), make.user(), make.user()
    refused = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10),
                                                              on_behalf_of=leader.id), headers=make.headers(secretary))
    assert refused.status_code == 403 and refused.get_json()["code"] == "ROOM_NOT_DELEGATED"
    grant = client.post("/api/v1/rooms/delegations", json={"secretary_id": secretary.id}, headers=make.headers(leader))
    assert grant.status_code == 201
    again = client.post("/api/v1/rooms/delegations", json={"secretary_id": secretary.id}, headers=make.headers(leader))
    assert again.get_json()["code"] == "ROOM_DELEGATION_EXISTS"
    resp = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10),
                                                           on_behalf_of=leader.id), headers=make.headers(secretary))
    assert resp.status_code == 201
    data = resp.get_json()
    assert data["organiser"]["id"] == leader.id and data["booked_by"]["id"] == secretary.id
    for person in (leader, secretary):
        assert client.get(f"/api/v1/rooms/bookings/{data['id']}", headers=make.headers(person)).status_code == 200
    assert client.get(f"/api/v1/rooms/bookings/{data['id']}", headers=make.headers(other)).status_code == 404
    for person in (leader, secretary):
        listed = client.get("/api/v1/rooms/bookings", headers=make.headers(person)).get_json()["items"]
        assert [b["id"] for b in listed] == [data["id"]]
        assert [d["leader"]["id"] for d in client.get("/api/v1/rooms/delegations",
                                                      headers=make.headers(person)).get_json()] == [leader.id]
    assert client.get("/api/v1/rooms/bookings", headers=make.headers(other)).get_json()["total"] == 0
    # the secretary edits and cancels for the leader
    assert client.patch(f"/api/v1/rooms/bookings/{data['id']}", json={"subject": "改"},
                        headers=make.headers(secretary)).status_code == 200
    # revoked: no more booking on the leader's behalf; the booking made stays
    revoke = client.post(f"/api/v1/rooms/delegations/{grant.get_json()['id']}/revoke", headers=make.headers(leader))
    assert revoke.status_code == 200 and revoke.get_json()["revoked_at"]
    resp = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 11), at(2030, 6, 3, 12),
                                                           on_behalf_of=leader.id), headers=make.headers(secretary))
    assert resp.get_json()["code"] == "ROOM_NOT_DELEGATED"
    assert db.session.execute(select(RoomDelegation.revoked_at)).scalar() is not None


def test_edit_rechecks_and_notifies(client, make, room):
    alice, bob, carol = make.user(), make.user(), make.user()
    other_room = make_room(make, capacity=4)
    book(room, carol, at(2030, 6, 3, 14), at(2030, 6, 3, 15))
    created = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10),
                                                              attendee_ids=[bob.id],
                                                              services=[{"kind": "av_support"}]),
                          headers=make.headers(alice)).get_json()
    url = f"/api/v1/rooms/bookings/{created['id']}"
    conflict = client.patch(url, json={"start_at": "2030-06-03T14:30:00+08:00", "end_at": "2030-06-03T15:30:00+08:00"},
                            headers=make.headers(alice))
    assert conflict.get_json()["code"] == "ROOM_TIME_CONFLICT"
    too_small = client.patch(url, json={"room_id": other_room.id}, headers=make.headers(alice))
    assert too_small.get_json()["code"] == "ROOM_CAPACITY_EXCEEDED"
    assert client.patch(url, json={"subject": "改"}, headers=make.headers(bob)).status_code == 403
    moved = client.patch(url, json={"start_at": "2030-06-03T16:00:00+08:00", "end_at": "2030-06-03T17:00:00+08:00"},
                         headers=make.headers(alice))
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["services"][0]["due_at"] == "2030-06-03T15:30:00+08:00"
    changed = db.session.execute(select(InAppMessage).where(
        InAppMessage.user_id == bob.id, InAppMessage.template == "room_booking_changed")).scalar_one()
    assert "16:00" in changed.body
    # the old slot is free again
    assert client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10)),
                       headers=make.headers(carol)).status_code == 201


def test_cancel_before_the_start_only(client, make, room, room_clock):
    alice, bob = make.user(), make.user()
    created = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10),
                                                              attendee_ids=[bob.id], services=[{"kind": "tea_water"}]),
                          headers=make.headers(alice)).get_json()
    url = f"/api/v1/rooms/bookings/{created['id']}/cancel"
    assert client.post(url, json={}, headers=make.headers(bob)).status_code == 403
    room_clock(at(2030, 6, 3, 9))
    assert client.post(url, json={}, headers=make.headers(alice)).get_json()["code"] == "ROOM_CANCEL_CLOSED"
    room_clock(NOW)
    resp = client.post(url, json={"reason": "改期"}, headers=make.headers(alice))
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert db.session.execute(select(RoomService.status)).scalar() == "cancelled"
    assert db.session.execute(select(InAppMessage.template).where(InAppMessage.user_id == bob.id)
                              .order_by(InAppMessage.id.desc())).first()[0] == "room_booking_cancelled"


def test_approval_flow_with_deadline(client, make, room_clock):
    room = make_room(make, approval="room", approval_hours=2)
    approver = make.user("room_approver", scope=("room", room.id))
    other_approver = make.user("room_approver", scope=("room", room.id + 1000))
    alice = make.user()
    created = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 4, 9), at(2030, 6, 4, 10)),
                          headers=make.headers(alice)).get_json()
    assert created["status"] == "pending" and created["approval_deadline"] == "2030-06-03T10:00:00+08:00"
    asked = db.session.execute(select(InAppMessage).where(InAppMessage.user_id == approver.id)).scalar_one()
    assert asked.template == "room_approval_requested"
    queue = client.get("/api/v1/rooms/approvals", headers=make.headers(approver)).get_json()
    assert [b["id"] for b in queue["items"]] == [created["id"]]
    assert client.get("/api/v1/rooms/approvals", headers=make.headers(other_approver)).get_json()["total"] == 0
    url = f"/api/v1/rooms/bookings/{created['id']}"
    assert client.post(url + "/approve", headers=make.headers(other_approver)).status_code == 404
    assert client.post(url + "/reject", json={"reason": " "}, headers=make.headers(approver)).status_code == 422
    room_clock(at(2030, 6, 3, 10))
    late = client.post(url + "/approve", headers=make.headers(approver))
    assert late.status_code == 409 and late.get_json()["code"] == "ROOM_APPROVAL_EXPIRED"
    room_clock(NOW)
    ok = client.post(url + "/approve", headers=make.headers(approver))
    assert ok.status_code == 200 and ok.get_json()["status"] == "approved"
    assert client.post(url + "/approve", headers=make.headers(approver)).get_json()["code"] == "INVALID_TRANSITION"
    # an approved booking moved in a room that needs approval is pending again, with a new deadline
    room_clock(at(2030, 6, 3, 8, 30))
    moved = client.patch(url, json={"start_at": "2030-06-04T11:00:00+08:00", "end_at": "2030-06-04T12:00:00+08:00"},
                         headers=make.headers(alice)).get_json()
    assert moved["status"] == "pending" and moved["approval_deadline"] == "2030-06-03T10:30:00+08:00"
    assert [t["transition"] for t in moved["timeline"]] == ["create", "approve", "resubmit"]
    asked_again = db.session.execute(select(InAppMessage).where(
        InAppMessage.user_id == approver.id, InAppMessage.template == "room_approval_requested")).scalars().all()
    assert len(asked_again) == 2
    # a pending booking cannot move to a room nobody approves for
    free_room = make_room(make)
    stuck = client.patch(url, json={"room_id": free_room.id}, headers=make.headers(alice))
    assert stuck.status_code == 409 and stuck.get_json()["code"] == "ROOM_PENDING_MOVE"
    # past its deadline it leaves the approvers' queue
    room_clock(at(2030, 6, 3, 10, 30))
    assert client.get("/api/v1/rooms/approvals", headers=make.headers(approver)).get_json()["total"] == 0
    room_clock(at(2030, 6, 3, 9))
    rejected = client.post(url + "/reject", json={"reason": "领导会议需用"}, headers=make.headers(approver)).get_json()
    assert rejected["status"] == "rejected" and rejected["decision_reason"] == "领导会议需用"
    told = db.session.execute(select(InAppMessage.body).where(
        InAppMessage.user_id == alice.id, InAppMessage.template == "room_booking_rejected")).scalar()
    assert "领导会议需用" in told


def test_department_approvers(client, make):
    room = make_room(make, approval="department")
    dept, other = make.department(), make.department()
    head = make.user("room_approver", scope=("department", dept.id))
    stranger = make.user("room_approver", scope=("department", other.id))
    created = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 4, 9), at(2030, 6, 4, 10)),
                          headers=make.headers(make.user(department=dept))).get_json()
    url = f"/api/v1/rooms/bookings/{created['id']}/approve"
    assert client.post(url, headers=make.headers(stranger)).status_code == 404
    assert client.post(url, headers=make.headers(head)).get_json()["status"] == "approved"


def test_department_restriction_and_suspension(client, make):
    allowed, other = make.department(), make.department()
    room = make_room(make)
    room.departments.append(allowed)
    db.session.commit()
    resp = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10)),
                       headers=make.headers(make.user(department=other)))
    assert resp.status_code == 403 and resp.get_json()["code"] == "ROOM_DEPARTMENT_NOT_ALLOWED"
    assert client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10)),
                       headers=make.headers(make.user(department=allowed))).status_code == 201


def test_quotas_per_person_and_department(client, make, room):
    dept = make.department()
    alice, bob = make.user(department=dept), make.user(department=dept)
    db.session.add_all([RoomQuota(scope="person", bookings_per_week=2, minutes_per_day=120),
                        RoomQuota(scope="department", department_id=dept.id, bookings_per_week=3)])
    db.session.commit()
    post = lambda user, h, m=60: client.post(  # noqa: E731
        "/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, h), at(2030, 6, 3, h) + timedelta(minutes=m)),
        headers=make.headers(user))
    assert post(alice, 9, 90).status_code == 201
    too_long = post(alice, 11, 60).get_json()
    assert too_long["code"] == "ROOM_QUOTA_EXCEEDED" and too_long["details"]["kind"] == "minutes_per_day"
    assert post(alice, 11, 30).status_code == 201
    week = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 4, 9), at(2030, 6, 4, 10)),
                       headers=make.headers(alice)).get_json()
    assert week["code"] == "ROOM_QUOTA_EXCEEDED" and week["details"]["kind"] == "bookings_per_week"
    assert post(bob, 14).status_code == 201
    department = post(bob, 16).get_json()
    assert department["code"] == "ROOM_QUOTA_EXCEEDED" and department["details"]["scope"] == "department"
    quota = client.get("/api/v1/rooms/quota", headers=make.headers(alice)).get_json()
    assert quota == {"bookings_per_week": 2, "bookings_this_week": 2, "minutes_per_day": 120, "minutes_today": 120}


def test_buffer_blocks_the_room_after_the_end(client, make):
    room = make_room(make, buffer_minutes=15)
    alice, bob = make.user(), make.user()
    first = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10)),
                        headers=make.headers(alice)).get_json()
    assert first["end_at"] == "2030-06-03T10:00:00+08:00" and first["blocked_until"] == "2030-06-03T10:15:00+08:00"
    inside = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 10), at(2030, 6, 3, 11)),
                         headers=make.headers(bob))
    assert inside.status_code == 409 and inside.get_json()["details"]["conflicts"] == [{
        "start_at": "2030-06-03T09:00:00+08:00", "end_at": "2030-06-03T10:00:00+08:00",
        "blocked_until": "2030-06-03T10:15:00+08:00"}]
    # the buffer also guards the time before a booking: ending at 08:50 would block until 09:05
    before = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 8, 20), at(2030, 6, 3, 8, 50)),
                         headers=make.headers(bob))
    assert before.status_code == 409
    after = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 10, 15), at(2030, 6, 3, 11)),
                        headers=make.headers(bob))
    assert after.status_code == 201, after.get_json()


def test_edit_checks_only_what_changes(client, make, room):
    alice = make.user()
    created = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10),
                                                              subject="  周例会  ", note=" 带电脑 "),
                          headers=make.headers(alice)).get_json()
    assert created["subject"] == "周例会" and created["note"] == "带电脑"
    url = f"/api/v1/rooms/bookings/{created['id']}"
    missing = client.patch(url, json={"room_id": 999999}, headers=make.headers(alice))
    assert missing.status_code == 404 and missing.get_json()["code"] == "ROOM_NOT_FOUND"
    crowd = client.patch(url, json={"attendee_count": 13}, headers=make.headers(alice))
    assert crowd.status_code == 422 and crowd.get_json()["code"] == "ROOM_CAPACITY_EXCEEDED"
    assert client.patch(url, json={"subject": "   "}, headers=make.headers(alice)).status_code == 422
    same_room = client.patch(url, json={"room_id": room.id, "attendee_count": 12, "subject": " 改 "},
                             headers=make.headers(alice))
    assert same_room.status_code == 200 and same_room.get_json()["subject"] == "改"
    assert same_room.get_json()["timeline"][-1]["transition"] == "create"  # no state change


def test_administrators_cancel_through_the_admin_route_only(client, make, room):
    alice, admin = make.user(), make.user("staff", "admin")
    created = client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10)),
                          headers=make.headers(alice)).get_json()
    url = f"/api/v1/rooms/bookings/{created['id']}"
    assert client.get(url, headers=make.headers(admin)).status_code == 200
    refused = client.post(url + "/cancel", json={}, headers=make.headers(admin))
    assert refused.status_code == 403
    assert client.patch(url, json={"subject": "改"}, headers=make.headers(admin)).status_code == 403
    assert db.session.execute(select(RoomBooking.status)).scalar() == "approved"


# --- several processes -----------------------------------------------------------------------

def _open_room(make):
    return make_room(make, opens_at=time(0, 0), closes_at=time(0, 0), open_days="every_day", max_minutes=1440)


def test_many_processes_one_slot_exactly_one_wins(make):
    room = _open_room(make)
    start = (utcnow() + timedelta(days=2)).astimezone(SHANGHAI).replace(hour=10, minute=0, second=0, microsecond=0)
    users = [make.user() for _ in range(6)]
    calls = [(make.token(u), "/rooms/bookings", body(room, start + timedelta(minutes=10 * i),
                                                      start + timedelta(minutes=60 + 10 * i)))
             for i, u in enumerate(users)]
    outcomes = run_at_once(post_worker, calls)
    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [201, 409, 409, 409, 409, 409], outcomes
    assert {code for status, code in outcomes if status == 409} == {"ROOM_TIME_CONFLICT"}
    overlaps = db.session.execute(text(
        "SELECT count(*) FROM room_booking a JOIN room_booking b ON a.room_id = b.room_id AND a.id < b.id"
        " AND tstzrange(a.start_at, a.blocked_until) && tstzrange(b.start_at, b.blocked_until)"
        " WHERE a.status IN ('pending', 'approved', 'checked_in', 'finished')"
        " AND b.status IN ('pending', 'approved', 'checked_in', 'finished')")).scalar()
    assert overlaps == 0
    assert db.session.execute(select(RoomBooking)).scalars().all().__len__() == 1


def test_quota_race_from_two_processes(make):
    room = _open_room(make)
    db.session.add(RoomQuota(scope="person", bookings_per_week=1))
    db.session.commit()
    user = make.user()
    token = make.token(user)
    start = (utcnow() + timedelta(days=1)).astimezone(SHANGHAI).replace(hour=9, minute=0, second=0, microsecond=0)
    calls = [(token, "/rooms/bookings", body(room, start + timedelta(hours=2 * i), start + timedelta(hours=2 * i + 1)))
             for i in range(2)]
    outcomes = run_at_once(post_worker, calls)
    assert sorted(status for status, _ in outcomes) == [201, 409], outcomes
    assert [code for status, code in outcomes if status == 409] == ["ROOM_QUOTA_EXCEEDED"]


def test_global_approver_sees_every_pending_booking(client, make):
    room = make_room(make, approval="room")
    boss = make.user()
    boss.roles.append(RoleGrant(role="room_approver"))
    db.session.commit()
    client.post("/api/v1/rooms/bookings", json=body(room, at(2030, 6, 4, 9), at(2030, 6, 4, 10)),
                headers=make.headers(make.user()))
    assert client.get("/api/v1/rooms/approvals", headers=make.headers(boss)).get_json()["total"] == 1
