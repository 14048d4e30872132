"""The property company's service tasks and administrators' 会议室调剂."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from models.audit import AuditLog
from models.notifications import InAppMessage
from models.rooms import RoomBooking, RoomService, RoomWaitlist
from tests.rooms.booking_helpers import post_worker
from tests.rooms.conftest import at, book, make_room
from tests.support.procs import run_at_once

NOW = at(2030, 6, 3, 8)


@pytest.fixture(autouse=True)
def _clock(room_clock):
    room_clock(NOW)


def _booked_with_service(client, make, room, user, **extra):
    resp = client.post("/api/v1/rooms/bookings", json={
        "room_id": room.id, "start_at": "2030-06-03T10:00:00+08:00", "end_at": "2030-06-03T11:00:00+08:00",
        "subject": "机密议题", "attendee_count": 6, "services": [{"kind": "tea_water", "note": "6 杯"}], **extra},
        headers=make.headers(user))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_property_staff_see_their_rooms_tasks_without_the_subject(client, make):
    company, other = make.company("property"), make.company("property")
    room = make_room(make, property_company_id=company.id)
    dispatcher = make.user("property_dispatcher", company=company)
    stranger = make.user("technician", company=other)
    created = _booked_with_service(client, make, room, make.user())
    page = client.get("/api/v1/rooms/services", headers=make.headers(dispatcher))
    assert page.status_code == 200
    [task] = page.get_json()["items"]
    assert task["kind"] == "tea_water" and task["meeting_start"] == "2030-06-03T10:00:00+08:00"
    assert task["attendee_count"] == 6 and task["due_at"] == "2030-06-03T09:30:00+08:00"
    assert "机密议题" not in page.get_data(as_text=True)
    assert client.get("/api/v1/rooms/services", headers=make.headers(stranger)).get_json()["total"] == 0
    url = f"/api/v1/rooms/services/{task['id']}/done"
    assert client.post(url, headers=make.headers(stranger)).status_code == 404
    done = client.post(url, headers=make.headers(dispatcher))
    assert done.status_code == 200 and done.get_json()["status"] == "done"
    assert client.post(url, headers=make.headers(dispatcher)).get_json()["code"] == "ROOM_SERVICE_NOT_OPEN"
    assert created["id"]


def test_two_technicians_mark_one_task_done_once(client, make):
    company = make.company("property")
    room = make_room(make, property_company_id=company.id)
    _booked_with_service(client, make, room, make.user())
    task_id = db.session.execute(select(RoomService.id)).scalar()
    techs = [make.user("technician", company=company) for _ in range(2)]
    outcomes = run_at_once(post_worker, [(make.token(t), f"/rooms/services/{task_id}/done", {}) for t in techs])
    assert sorted(status for status, _ in outcomes) == [200, 409], outcomes


def test_move_checks_conflicts_moves_services_notifies_and_audits(client, make):
    big = make_room(make, capacity=30)
    small = make_room(make, capacity=4)
    admin, organiser, attendee, other = make.user("admin"), make.user(), make.user(), make.user()
    created = _booked_with_service(client, make, big, organiser, attendee_ids=[attendee.id])
    book(small, other, at(2030, 6, 3, 14), at(2030, 6, 3, 15), subject="别人的会")
    target = make_room(make, capacity=10)
    book(target, other, at(2030, 6, 3, 14), at(2030, 6, 3, 15), subject="别人的会")
    url = f"/api/v1/rooms/bookings/{created['id']}/move"
    assert client.post(url, json={"room_id": target.id, "reason": "x"}, headers=make.headers(organiser)).status_code \
        == 403
    no_reason = client.post(url, json={"room_id": target.id}, headers=make.headers(admin))
    assert no_reason.status_code == 422
    too_small = client.post(url, json={"room_id": small.id, "reason": "x"}, headers=make.headers(admin)).get_json()
    assert too_small["code"] == "ROOM_CAPACITY_EXCEEDED"
    clash = client.post(url, json={"room_id": target.id, "start_at": "2030-06-03T14:30:00+08:00",
                                   "end_at": "2030-06-03T15:30:00+08:00", "reason": "x"}, headers=make.headers(admin))
    assert clash.get_json()["code"] == "ROOM_TIME_CONFLICT" and "别人的会" not in clash.get_data(as_text=True)
    # a waiting colleague gets the big room's freed slot
    db.session.add(RoomWaitlist(room_id=big.id, user_id=other.id, start_at=at(2030, 6, 3, 10),
                                end_at=at(2030, 6, 3, 11), subject="w", attendee_count=20))
    db.session.commit()
    moved = client.post(url, json={"room_id": target.id, "start_at": "2030-06-03T16:00:00+08:00",
                                   "end_at": "2030-06-03T17:00:00+08:00", "reason": "领导会议需用大会议室"},
                        headers=make.headers(admin))
    assert moved.status_code == 200, moved.get_json()
    data = moved.get_json()
    assert data["room_id"] == target.id and data["status"] == "approved"
    assert data["decision_reason"] == "领导会议需用大会议室"
    assert data["services"][0]["due_at"] == "2030-06-03T15:30:00+08:00"
    for person in (organiser, attendee):
        note = db.session.execute(select(InAppMessage).where(
            InAppMessage.user_id == person.id, InAppMessage.template == "room_booking_moved")).scalar_one()
        assert "领导会议需用大会议室" in note.body and target.name in note.body
    assert db.session.execute(select(AuditLog.action).where(AuditLog.action == "rooms.booking.move")).scalar()
    assert db.session.execute(select(RoomWaitlist.status)).scalar() == "offered"


def test_admin_cancel_offers_free_alternatives_big_enough(client, make):
    building_rooms = [make_room(make, capacity=c) for c in (20, 8, 12, 30)]
    big, tiny, fitting, larger = building_rooms
    admin, organiser = make.user("admin"), make.user()
    created = client.post("/api/v1/rooms/bookings", json={
        "room_id": big.id, "start_at": "2030-06-03T10:00:00+08:00", "end_at": "2030-06-03T11:00:00+08:00",
        "subject": "会", "attendee_count": 10}, headers=make.headers(organiser)).get_json()
    book(larger, make.user(), at(2030, 6, 3, 10, 30), at(2030, 6, 3, 12))  # taken: not an alternative
    listed = client.get(f"/api/v1/rooms/bookings/{created['id']}/alternatives", headers=make.headers(admin))
    assert [r["id"] for r in listed.get_json()] == [fitting.id]
    resp = client.post(f"/api/v1/rooms/bookings/{created['id']}/admin-cancel", json={"reason": "接待任务"},
                       headers=make.headers(admin))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["booking"]["status"] == "cancelled" and [r["id"] for r in body["alternatives"]] == [fitting.id]
    note = db.session.execute(select(InAppMessage).where(
        InAppMessage.user_id == organiser.id, InAppMessage.template == "room_booking_cancelled_by_admin")).scalar_one()
    assert "接待任务" in note.body and fitting.name in note.body and tiny.name not in note.body
    assert db.session.get(RoomBooking, created["id"]).decision_reason == "接待任务"
