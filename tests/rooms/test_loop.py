"""The closed no-show loop: check-in by door code, auto-release, no-show suspensions, lapsing,
closing, finishing early and reminders. (The waitlist: test_waitlist.py; iCalendar: test_ics.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from blueprints.places.service import place_scene
from blueprints.rooms import loop
from models.audit import AuditLog
from models.notifications import InAppMessage
from models.platform import OrderTransition
from models.rooms import RoomBooking, RoomBookingAttendee, RoomService, RoomSuspension, RoomWaitlist
from tests.rooms.conftest import at, book, make_room
from tests.support.procs import run_at_once

NOW = at(2030, 6, 3, 8)  # a Monday


@pytest.fixture(autouse=True)
def _clock(room_clock):
    room_clock(NOW)


def _messages(user, template):
    return db.session.execute(select(InAppMessage).where(InAppMessage.user_id == user.id,
                                                         InAppMessage.template == template)).scalars().all()


def _status(booking) -> str:
    db.session.expire_all()
    return db.session.get(RoomBooking, booking.id).status


def _attend(booking, user) -> None:
    db.session.add(RoomBookingAttendee(booking_id=booking.id, user_id=user.id))
    db.session.commit()


# --- check-in ------------------------------------------------------------------------------

def _check_in(client, make, booking, user, scene):
    return client.post(f"/api/v1/rooms/bookings/{booking.id}/check-in", json={"scene": scene},
                       headers=make.headers(user))


def test_check_in_window_edges(client, make, room, room_clock):
    """Open from start - checkin_open_minutes (15) inclusive to start + release_after_minutes
    (15) exclusive."""
    alice = make.user()
    scene = place_scene(room.place)
    first = book(room, alice, at(2030, 6, 3, 9), at(2030, 6, 3, 10))
    room_clock(at(2030, 6, 3, 8, 44) + timedelta(seconds=59))
    early = _check_in(client, make, first, alice, scene)
    assert early.status_code == 409 and early.get_json()["code"] == "ROOM_CHECKIN_WINDOW"
    assert early.get_json()["details"] == {"opens_at": "2030-06-03T08:45:00+08:00",
                                           "closes_at": "2030-06-03T09:15:00+08:00"}
    room_clock(at(2030, 6, 3, 8, 45))
    opened = _check_in(client, make, first, alice, scene)
    assert opened.status_code == 200 and opened.get_json()["status"] == "checked_in"
    assert opened.get_json()["checked_in_at"] == "2030-06-03T08:45:00+08:00"
    again = _check_in(client, make, first, alice, scene)
    assert again.status_code == 409 and again.get_json()["code"] == "INVALID_TRANSITION"

    last_moment = book(room, alice, at(2030, 6, 3, 11), at(2030, 6, 3, 12))
    room_clock(at(2030, 6, 3, 11, 14) + timedelta(seconds=59))
    assert _check_in(client, make, last_moment, alice, scene).status_code == 200

    too_late = book(room, alice, at(2030, 6, 3, 13), at(2030, 6, 3, 14))
    room_clock(at(2030, 6, 3, 13, 15))
    closed = _check_in(client, make, too_late, alice, scene)
    assert closed.status_code == 409 and closed.get_json()["code"] == "ROOM_CHECKIN_WINDOW"
    assert _status(too_late) == "approved"
    # the moment check-in closes is the moment the sweep releases it (and closes the two that ended)
    assert loop.run_deadlines(now=at(2030, 6, 3, 13, 15)) == 3
    assert [_status(b) for b in (first, last_moment, too_late)] == ["finished", "finished", "no_show"]


def test_check_in_needs_this_rooms_door_code(client, make, room, room_clock):
    alice = make.user()
    booking = book(room, alice, at(2030, 6, 3, 9), at(2030, 6, 3, 10))
    other = make_room(make)
    room_clock(at(2030, 6, 3, 8, 55))
    for scene in (place_scene(other.place), f"p={room.place.parent_id}", "p=999999", "x", "v=1"):
        resp = _check_in(client, make, booking, alice, scene)
        assert resp.status_code == 409 and resp.get_json()["code"] == "ROOM_CHECKIN_WRONG_ROOM", scene
        assert room.name in resp.get_json()["message"]
    assert _status(booking) == "approved"
    assert _check_in(client, make, booking, alice, place_scene(room.place)).status_code == 200


def test_who_may_check_in(client, make, room, room_clock):
    """The organiser's side and attendees; someone who can only see it (an administrator) is
    refused; someone who cannot see it gets 404."""
    leader, secretary, attendee, stranger, admin = (make.user(), make.user(), make.user(), make.user(),
                                                    make.user("admin"))
    scene = place_scene(room.place)
    by_secretary = book(room, leader, at(2030, 6, 3, 9), at(2030, 6, 3, 10), booked_by=secretary)
    for_attendee = book(room, leader, at(2030, 6, 3, 10), at(2030, 6, 3, 11))
    _attend(for_attendee, attendee)
    room_clock(at(2030, 6, 3, 9, 50))
    assert _check_in(client, make, for_attendee, stranger, scene).get_json()["code"] == "NOT_FOUND"
    assert _check_in(client, make, for_attendee, admin, scene).get_json()["code"] == "FORBIDDEN"
    assert _check_in(client, make, for_attendee, attendee, scene).status_code == 200
    assert db.session.get(RoomBooking, for_attendee.id).checked_in_by_id == attendee.id
    room_clock(at(2030, 6, 3, 9, 5))
    assert _check_in(client, make, by_secretary, secretary, scene).status_code == 200


# --- auto-release and suspensions ----------------------------------------------------------

def test_release_at_exactly_n_minutes_once(make, room):
    alice, secretary = make.user(), make.user()
    booking = book(room, alice, at(2030, 6, 3, 9), at(2030, 6, 3, 10), booked_by=secretary)
    db.session.add(RoomService(booking_id=booking.id, kind="tea_water", due_at=at(2030, 6, 3, 8, 30)))
    no_checkin = book(make_room(make, checkin_required=False), alice, at(2030, 6, 3, 9), at(2030, 6, 3, 10))
    assert loop.run_deadlines(now=at(2030, 6, 3, 9, 14) + timedelta(seconds=59)) == 0
    assert _status(booking) == "approved"
    assert loop.run_deadlines(now=at(2030, 6, 3, 9, 15)) == 1
    assert _status(booking) == "no_show" and _status(no_checkin) == "approved"
    assert loop.run_deadlines(now=at(2030, 6, 3, 9, 16)) == 0  # idempotent
    assert db.session.execute(select(RoomService.status)).scalar() == "cancelled"
    for person in (alice, secretary):
        told = _messages(person, "room_released_no_show")
        assert len(told) == 1 and "已自动释放" in told[0].body and "09:00" in told[0].body
    assert db.session.execute(select(RoomSuspension)).first() is None  # one no-show is not three
    # the released time is free at once for someone else
    assert book(room, make.user(), at(2030, 6, 3, 9, 30), at(2030, 6, 3, 10)).status == "approved"


def test_third_no_show_in_30_days_suspends_and_the_user_sees_why_and_until_when(client, make, room,
                                                                                room_clock):
    alice = make.user()
    book(room, alice, at(2030, 5, 2, 9), at(2030, 5, 2, 10), status="no_show")  # 32 days before: not counted
    for day in (3, 4):
        book(room, alice, at(2030, 6, day, 9), at(2030, 6, day, 10))
        loop.run_deadlines(now=at(2030, 6, day, 9, 15))
    assert db.session.execute(select(RoomSuspension)).first() is None
    third = book(room, alice, at(2030, 6, 5, 9), at(2030, 6, 5, 10))
    assert loop.run_deadlines(now=at(2030, 6, 5, 9, 20)) == 1
    suspension = db.session.execute(select(RoomSuspension)).scalar_one()
    assert (suspension.user_id, suspension.booking_id, suspension.no_shows) == (alice.id, third.id, 3)
    assert suspension.reason == "30天内3次预订会议室未签到"
    assert suspension.ends_at == at(2030, 6, 19, 9, 20)  # ROOM_SUSPEND_DAYS = 14
    told = _messages(alice, "room_booking_suspended")
    assert len(told) == 1 and "30天内3次预订会议室未签到" in told[0].body and "06月19日 09:20" in told[0].body
    # a fourth no-show while suspended adds no second suspension
    book(room, alice, at(2030, 6, 6, 9), at(2030, 6, 6, 10))
    assert loop.run_deadlines(now=at(2030, 6, 6, 9, 15)) == 1
    assert db.session.execute(select(func.count()).select_from(RoomSuspension)).scalar() == 1

    room_clock(at(2030, 6, 6, 10))
    penalties = client.get("/api/v1/rooms/penalties/me", headers=make.headers(alice)).get_json()
    assert (penalties["limit"], penalties["window_days"]) == (3, 30)
    assert [(p["start_at"], p["room_name"]) for p in penalties["no_shows"]] == [
        (f"2030-06-0{d}T09:00:00+08:00", room.name) for d in (6, 5, 4, 3)]
    assert penalties["suspension"]["ends_at"] == "2030-06-19T09:20:00+08:00"
    assert penalties["suspension"]["reason"] == "30天内3次预订会议室未签到"
    body = {"room_id": room.id, "start_at": "2030-06-07T09:00:00+08:00", "end_at": "2030-06-07T10:00:00+08:00",
            "subject": "周例会", "attendee_count": 2}
    refused = client.post("/api/v1/rooms/bookings", json=body, headers=make.headers(alice))
    assert refused.status_code == 403 and refused.get_json()["code"] == "ROOM_SUSPENDED"
    assert refused.get_json()["message"] == "30天内3次预订会议室未签到，会议室预订暂停至 2030-06-19 09:20"
    assert refused.get_json()["details"]["ends_at"] == "2030-06-19T09:20:00+08:00"
    other = make.user()
    assert client.get("/api/v1/rooms/penalties/me", headers=make.headers(other)).get_json() == {
        "no_shows": [], "limit": 3, "window_days": 30, "suspension": None}

    # an administrator lifts it (audited); a second lift is a 409; then booking works again
    admin = make.user("admin")
    lifted = client.post(f"/api/v1/rooms/suspensions/{suspension.id}/lift", json={"reason": "系统故障误判"},
                         headers=make.headers(admin))
    assert lifted.status_code == 200 and lifted.get_json()["lift_reason"] == "系统故障误判"
    audit = db.session.execute(select(AuditLog).where(AuditLog.action == "rooms.suspension.lift")).scalar_one()
    assert (audit.actor_id, audit.target_id, audit.details) == (admin.id, str(suspension.id),
                                                                {"reason": "系统故障误判"})
    twice = client.post(f"/api/v1/rooms/suspensions/{suspension.id}/lift", json={"reason": "x"},
                        headers=make.headers(admin))
    assert twice.status_code == 409 and twice.get_json()["code"] == "ROOM_SUSPENSION_LIFTED"
    assert client.get("/api/v1/rooms/penalties/me", headers=make.headers(alice)).get_json()["suspension"] is None
    assert client.post("/api/v1/rooms/bookings", json=body, headers=make.headers(alice)).status_code == 201


def _sweep_worker(now_iso, via, barrier, results):
    """Another worker process: the sweep through the registry (advisory-locked, may skip)
    or the function itself (no lock: only the conditional updates keep it right)."""
    try:
        from datetime import datetime

        from blueprints.rooms import rules
        from tests.support.procs import app_from_env

        now = datetime.fromisoformat(now_iso)
        app = app_from_env(ROOM_NO_SHOW_LIMIT=2)
        rules.clock = lambda: now
        with app.app_context():
            from sqlalchemy import text

            from app.extensions import db as pdb
            pdb.session.execute(text("SELECT 1"))  # connected before the race
            pdb.session.commit()
            if via == "run_sweep":
                from app.sweeps import run_sweep
                barrier.wait(timeout=60)
                results.put(run_sweep("rooms_deadlines"))
            else:
                from blueprints.rooms.loop import run_deadlines
                barrier.wait(timeout=60)
                results.put(run_deadlines())
    except Exception as exc:  # report, never leave the parent waiting
        results.put(repr(exc))


def test_sweeps_from_four_processes_release_suspend_and_notify_once(make):
    alice, bob = make.user(), make.user()
    rooms = [make_room(make) for _ in range(3)]
    alices = [book(r, alice, at(2030, 6, 3, h), at(2030, 6, 3, h + 1)) for r in rooms for h in (9, 11)]
    bobs = [book(rooms[0], bob, at(2030, 6, 3, 14), at(2030, 6, 3, 15))]
    calls = [(at(2030, 6, 3, 16).isoformat(), via) for via in ("run_sweep", "run_sweep", "direct", "direct")]
    outcomes = run_at_once(_sweep_worker, calls)
    assert all(isinstance(n, int) for n in outcomes), outcomes
    # every booking released once; the registry's lock may make a run skip (-1)
    assert sum(n for n in outcomes if n > 0) == 7, outcomes
    transitions = db.session.execute(
        select(OrderTransition.order_id, func.count()).where(OrderTransition.order_type == "room_booking",
                                                             OrderTransition.to_state == "no_show")
        .group_by(OrderTransition.order_id)).all()
    assert sorted(transitions) == sorted((b.id, 1) for b in alices + bobs)
    assert {_status(b) for b in alices + bobs} == {"no_show"}
    assert len(_messages(alice, "room_released_no_show")) == 6 and len(_messages(bob, "room_released_no_show")) == 1
    # alice reached the limit (2) once: one suspension, one notice; bob none
    suspensions = db.session.execute(select(RoomSuspension)).scalars().all()
    assert [s.user_id for s in suspensions] == [alice.id]
    assert len(_messages(alice, "room_booking_suspended")) == 1 and not _messages(bob, "room_booking_suspended")
    assert loop.run_deadlines(now=at(2030, 6, 3, 16)) == 0


def test_two_sweeps_with_different_clocks_count_one_persons_no_shows_one_after_the_other(make, room):
    """The sweep at 09:15 releases the 09:00 meeting while the one at 11:15 releases the 11:00
    meeting in another room (made first, so it comes first by id) at the same moment: each
    would see two no-shows (the old one and its own) and suspend. The per-person lock makes
    the second see the first's suspension. (Fails about two runs in three without it.)"""
    alice = make.user()
    book(room, alice, at(2030, 6, 1, 9), at(2030, 6, 1, 10), status="no_show")
    later = book(make_room(make), alice, at(2030, 6, 3, 11), at(2030, 6, 3, 12))  # another room: another lock
    earlier = book(room, alice, at(2030, 6, 3, 9), at(2030, 6, 3, 10))
    outcomes = run_at_once(_sweep_worker, [(at(2030, 6, 3, 9, 15).isoformat(), "direct"),
                                           (at(2030, 6, 3, 11, 15).isoformat(), "direct")])
    assert sum(outcomes) == 2, outcomes
    assert (_status(earlier), _status(later)) == ("no_show", "no_show")
    assert db.session.execute(select(func.count()).select_from(RoomSuspension)).scalar() == 1
    assert len(_messages(alice, "room_booking_suspended")) == 1


# --- lapse and close -----------------------------------------------------------------------

def test_lapse_at_the_approval_deadline(make):
    approval_room = make_room(make, approval="room")
    alice = make.user()
    pending = book(approval_room, alice, at(2030, 6, 3, 14), at(2030, 6, 3, 15), status="pending",
                   approval_deadline=at(2030, 6, 3, 8, 30))
    assert loop.run_deadlines(now=at(2030, 6, 3, 8, 29)) == 0
    assert loop.run_deadlines(now=at(2030, 6, 3, 8, 30)) == 1
    assert _status(pending) == "lapsed"
    told = _messages(alice, "room_booking_lapsed")
    assert len(told) == 1 and "未在期限内审批" in told[0].body
    assert loop.run_deadlines(now=at(2030, 6, 3, 8, 31)) == 0
    # the slot is free again
    assert book(approval_room, make.user(), at(2030, 6, 3, 14), at(2030, 6, 3, 15)).status == "approved"


def test_close_ended_meetings(make):
    alice = make.user()
    open_room = make_room(make, checkin_required=False)
    plain = book(open_room, alice, at(2030, 6, 3, 9), at(2030, 6, 3, 10))
    checked = book(make_room(make), alice, at(2030, 6, 3, 8), at(2030, 6, 3, 10, 30), status="checked_in")
    assert loop.run_deadlines(now=at(2030, 6, 3, 9, 59)) == 0
    assert loop.run_deadlines(now=at(2030, 6, 3, 10)) == 1
    assert loop.run_deadlines(now=at(2030, 6, 3, 10, 30)) == 1
    for booking in (plain, checked):
        row = db.session.get(RoomBooking, booking.id)
        assert row.status == "finished" and row.finished_at == row.end_at
    assert loop.run_deadlines(now=at(2030, 6, 3, 11)) == 0


# --- finishing early -----------------------------------------------------------------------

def test_finish_early_frees_the_rest_back_to_back(client, make, room, room_clock):
    alice, bob, attendee = make.user(), make.user(), make.user()
    booking = book(room, alice, at(2030, 6, 3, 9), at(2030, 6, 3, 11), status="checked_in")
    _attend(booking, attendee)
    url = f"/api/v1/rooms/bookings/{booking.id}/finish"
    room_clock(at(2030, 6, 3, 9, 40) + timedelta(seconds=10))
    assert client.post(url, headers=make.headers(bob)).get_json()["code"] == "NOT_FOUND"
    assert client.post(url, headers=make.headers(attendee)).get_json()["code"] == "FORBIDDEN"
    done = client.post(url, headers=make.headers(alice))
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "finished"
    assert done.get_json()["end_at"] == done.get_json()["blocked_until"] == "2030-06-03T09:41:00+08:00"
    assert client.post(url, headers=make.headers(alice)).get_json()["code"] == "INVALID_TRANSITION"
    # bob books from the minute it ended: back to back, no buffer
    after = client.post("/api/v1/rooms/bookings", json={
        "room_id": room.id, "start_at": "2030-06-03T09:41:00+08:00", "end_at": "2030-06-03T11:00:00+08:00",
        "subject": "接着用", "attendee_count": 3}, headers=make.headers(bob))
    assert after.status_code == 201, after.get_json()
    # the sweep leaves a finished meeting alone (it releases bob's, nobody checked in)
    assert loop.run_deadlines(now=at(2030, 6, 3, 11, 30)) == 1 and _status(booking) == "finished"
    assert db.session.get(RoomBooking, booking.id).finished_at == at(2030, 6, 3, 9, 40) + timedelta(seconds=10)


def test_finish_offers_the_freed_rest_with_the_buffer_to_the_waitlist(client, make, room_clock):
    room = make_room(make, buffer_minutes=10)
    alice, waiting = make.user(), make.user()
    booking = book(room, alice, at(2030, 6, 3, 9), at(2030, 6, 3, 11), status="checked_in")
    db.session.add(RoomWaitlist(room_id=room.id, user_id=waiting.id, start_at=at(2030, 6, 3, 10),
                                end_at=at(2030, 6, 3, 11), subject="候补", attendee_count=2))
    db.session.commit()
    room_clock(at(2030, 6, 3, 9, 30))
    done = client.post(f"/api/v1/rooms/bookings/{booking.id}/finish", headers=make.headers(alice)).get_json()
    assert (done["end_at"], done["blocked_until"]) == ("2030-06-03T09:30:00+08:00", "2030-06-03T09:40:00+08:00")
    entry = db.session.execute(select(RoomWaitlist)).scalar_one()
    assert entry.status == "offered" and entry.offer_expires_at == at(2030, 6, 3, 10)
    assert len(_messages(waiting, "room_waitlist_offer")) == 1


def test_finish_before_the_start_keeps_one_minute_and_not_after_the_end(client, make, room, room_clock):
    alice = make.user()
    early = book(room, alice, at(2030, 6, 3, 9), at(2030, 6, 3, 10), status="checked_in")
    room_clock(at(2030, 6, 3, 8, 50))
    done = client.post(f"/api/v1/rooms/bookings/{early.id}/finish", headers=make.headers(alice)).get_json()
    assert done["end_at"] == "2030-06-03T09:01:00+08:00"
    ended = book(room, alice, at(2030, 6, 3, 11), at(2030, 6, 3, 12), status="checked_in")
    room_clock(at(2030, 6, 3, 12))
    late = client.post(f"/api/v1/rooms/bookings/{ended.id}/finish", headers=make.headers(alice))
    assert late.status_code == 409 and late.get_json()["code"] == "ROOM_FINISH_WINDOW"
    assert _status(ended) == "checked_in"


# --- reminders -----------------------------------------------------------------------------

def test_reminders_once_to_organiser_booker_and_attendees(make, room):
    leader, secretary, attendee, other = make.user(), make.user(), make.user(), make.user()
    booking = book(room, leader, at(2030, 6, 3, 9), at(2030, 6, 3, 10), booked_by=secretary)
    _attend(booking, attendee)
    book(make_room(make, approval="room"), other, at(2030, 6, 3, 9), at(2030, 6, 3, 10), status="pending")
    book(make_room(make), other, at(2030, 6, 3, 9, 30), at(2030, 6, 3, 10))  # later: not yet
    assert loop.send_reminders(now=at(2030, 6, 3, 8, 44)) == 0
    assert loop.send_reminders(now=at(2030, 6, 3, 8, 45)) == 1
    assert loop.send_reminders(now=at(2030, 6, 3, 8, 50)) == 0
    for person in (leader, secretary, attendee):
        told = _messages(person, "room_meeting_reminder")
        assert len(told) == 1 and "09:00" in told[0].body and room.name in told[0].body
    assert not _messages(other, "room_meeting_reminder")
    assert db.session.get(RoomBooking, booking.id).reminded_at == at(2030, 6, 3, 8, 45)
    assert loop.send_reminders(now=at(2030, 6, 3, 9, 15)) == 1  # the 09:30 one
