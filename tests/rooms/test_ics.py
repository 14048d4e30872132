"""iCalendar: one booking's .ics (Asia/Shanghai times, across midnight, status, UID and
sequence) and the personal feed behind a secret, revocable URL (subjects only when opted in)."""

from __future__ import annotations

import hashlib
from datetime import time, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select, update

from app.extensions import db
from models.rooms import RoomBooking, RoomBookingAttendee, RoomFeed
from tests.rooms.conftest import at, book, make_room

NOW = at(2030, 6, 3, 8)  # a Monday


@pytest.fixture(autouse=True)
def _clock(room_clock):
    room_clock(NOW)


def _event(data: bytes):
    events = Calendar.from_ical(data).walk("VEVENT")
    assert len(events) == 1
    return events[0]


def _events(data: bytes) -> dict[int, object]:
    """The feed's events by booking id (from the UID)."""
    return {int(str(e["uid"]).split("@")[0].rsplit("-", 1)[1]): e for e in Calendar.from_ical(data).walk("VEVENT")}


def test_booking_ics_in_shanghai_across_midnight(client, make):
    room = make_room(make, opens_at=time(18, 0), closes_at=time(2, 0), open_days="every_day")
    alice, attendee, stranger = make.user(), make.user(), make.user()
    booking = book(room, alice, at(2030, 6, 3, 23), at(2030, 6, 4, 1), subject="夜间值班会")
    db.session.add(RoomBookingAttendee(booking_id=booking.id, user_id=attendee.id))
    db.session.commit()
    url = f"/api/v1/rooms/bookings/{booking.id}/ics"
    assert client.get(url, headers=make.headers(stranger)).get_json()["code"] == "NOT_FOUND"
    resp = client.get(url, headers=make.headers(alice))
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="room-booking-{booking.id}.ics"'
    text = resp.get_data(as_text=True)
    assert "DTSTART;TZID=Asia/Shanghai:20300603T230000" in text
    assert "DTEND;TZID=Asia/Shanghai:20300604T010000" in text
    assert "BEGIN:VTIMEZONE" in text and "TZID:Asia/Shanghai" in text
    event = _event(resp.data)
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert (start, end) == (at(2030, 6, 3, 23), at(2030, 6, 4, 1))
    assert start.utcoffset() == timedelta(hours=8) and str(start.tzinfo) == "Asia/Shanghai"
    assert str(event["summary"]) == "夜间值班会"
    assert str(event["location"]) == room.place.path and " / " in str(event["location"])
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["uid"]) == f"room-booking-{booking.id}@jiguan-houqin"
    assert client.get(url, headers=make.headers(attendee)).status_code == 200  # attendees see it in full


def test_status_follows_the_booking_and_sequence_grows_with_a_change(client, make):
    room = make_room(make, approval="room")
    alice = make.user()
    booking = book(room, alice, at(2030, 6, 3, 14), at(2030, 6, 3, 15), status="pending")
    url, headers = f"/api/v1/rooms/bookings/{booking.id}/ics", make.headers(alice)
    first = _event(client.get(url, headers=headers).data)
    assert str(first["status"]) == "TENTATIVE"
    db.session.execute(update(RoomBooking).where(RoomBooking.id == booking.id).values(
        status="cancelled", updated_at=RoomBooking.created_at + timedelta(minutes=5)))
    db.session.commit()
    second = _event(client.get(url, headers=headers).data)
    assert str(second["status"]) == "CANCELLED"
    assert str(second["uid"]) == str(first["uid"])
    assert int(second["sequence"]) > int(first["sequence"])


def test_feed_privacy_rotation_and_revocation(client, make):
    room = make_room(make)
    alice, bob, leader, carol = make.user(), make.user(), make.user(), make.user()
    mine = book(room, alice, at(2030, 6, 3, 9), at(2030, 6, 3, 10), subject="预算评审")
    attending = book(room, bob, at(2030, 6, 3, 10), at(2030, 6, 3, 11), subject="人事调整")
    db.session.add(RoomBookingAttendee(booking_id=attending.id, user_id=alice.id))
    db.session.commit()
    for_leader = book(room, leader, at(2030, 6, 3, 11), at(2030, 6, 3, 12), subject="领导接待", booked_by=alice)
    cancelled = book(room, alice, at(2030, 6, 4, 9), at(2030, 6, 4, 10), subject="取消的会", status="cancelled")
    recent = book(room, alice, at(2030, 5, 10, 9), at(2030, 5, 10, 10), subject="上月的会", status="finished")
    book(room, alice, at(2030, 4, 20, 9), at(2030, 4, 20, 10), subject="太早的会", status="finished")
    book(room, carol, at(2030, 6, 3, 14), at(2030, 6, 3, 15), subject="别人的会")

    headers = make.headers(alice)
    assert client.get("/api/v1/rooms/feed", headers=headers).get_json() == {
        "live": False, "created_at": None, "include_subjects": None, "url": None}
    created = client.post("/api/v1/rooms/feed", json={}, headers=headers)
    assert created.status_code == 201
    url = created.get_json()["url"]
    assert url.startswith("/api/v1/rooms/feed/") and url.endswith(".ics")
    token = url.removeprefix("/api/v1/rooms/feed/").removesuffix(".ics")
    assert len(token) >= 40
    status = client.get("/api/v1/rooms/feed", headers=headers)
    assert status.get_json()["live"] is True and status.get_json()["include_subjects"] is False
    assert status.get_json()["url"] is None and token not in status.get_data(as_text=True)
    stored = db.session.execute(select(RoomFeed)).scalar_one()  # only the secret's hash is kept
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and stored.revoked_at is None

    feed = client.get(url)  # no sign-in
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    assert feed.headers["Cache-Control"] == "private, max-age=300"
    events = _events(feed.data)
    assert set(events) == {mine.id, attending.id, for_leader.id, cancelled.id, recent.id}
    assert {str(e["summary"]) for e in events.values()} == {f"会议室预订 · {room.name}"}
    text = feed.get_data(as_text=True)
    for subject in ("预算评审", "人事调整", "领导接待", "取消的会", "别人的会"):
        assert subject not in text
    assert str(events[cancelled.id]["status"]) == "CANCELLED" and str(events[mine.id]["status"]) == "CONFIRMED"

    rotated = client.post("/api/v1/rooms/feed", json={"include_subjects": True}, headers=headers).get_json()["url"]
    assert rotated != url
    old = client.get(url)
    assert old.status_code == 404 and old.get_json()["code"] == "NOT_FOUND"
    assert str(_events(client.get(rotated).data)[mine.id]["summary"]) == "预算评审"
    assert "别人的会" not in client.get(rotated).get_data(as_text=True)

    revoked = client.post("/api/v1/rooms/feed/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.get_json()["live"] is False
    assert client.get(rotated).status_code == 404
    assert client.get("/api/v1/rooms/feed", headers=headers).get_json()["live"] is False
    assert client.get("/api/v1/rooms/feed/nonsense.ics").status_code == 404


def test_the_feed_is_the_one_route_without_sign_in_in_the_api_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert not paths["/api/v1/rooms/feed/{token}.ics"]["get"].get("security")
    assert paths["/api/v1/rooms/bookings/{booking_id}/ics"]["get"]["security"]
    assert paths["/api/v1/rooms/feed"]["post"]["security"]
