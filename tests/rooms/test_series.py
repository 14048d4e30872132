"""Recurring bookings: local wall time across months and midnight, the per-occurrence
conflict report, booking the rest, editing and cancelling the future occurrences."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from app.extensions import db
from models.notifications import InAppMessage
from models.rooms import RoomBooking
from tests.rooms.conftest import at, book, make_room

NOW = at(2030, 6, 3, 8)  # Monday


@pytest.fixture(autouse=True)
def _clock(room_clock):
    room_clock(NOW)


def series(room, start, end, recurrence, **extra) -> dict:
    return {"room_id": room.id, "start_at": start.isoformat(), "end_at": end.isoformat(), "subject": "周例会",
            "attendee_count": 4, "recurrence": recurrence, **extra}


def test_weekly_on_two_weekdays_across_a_month_keeps_wall_time(client, make):
    room = make_room(make, advance_days=60)
    resp = client.post("/api/v1/rooms/series", json=series(room, at(2030, 6, 24, 9), at(2030, 6, 24, 10), {
        "frequency": "weekly", "weekdays": [0, 2], "until": "2030-07-10"}), headers=make.headers(make.user()))
    assert resp.status_code == 201, resp.get_json()
    starts = [o["start_at"] for o in resp.get_json()["occurrences"]]
    assert starts == ["2030-06-24T09:00:00+08:00", "2030-06-26T09:00:00+08:00", "2030-07-01T09:00:00+08:00",
                      "2030-07-03T09:00:00+08:00", "2030-07-08T09:00:00+08:00", "2030-07-10T09:00:00+08:00"]
    series_ids = db.session.execute(select(RoomBooking.series_id).distinct()).scalars().all()
    assert series_ids == [resp.get_json()["series_id"]]


def test_daily_across_midnight_keeps_duration(client, make):
    room = make_room(make, opens_at=time(20, 0), closes_at=time(4, 0), open_days="every_day")
    resp = client.post("/api/v1/rooms/series", json=series(room, at(2030, 6, 3, 23, 30), at(2030, 6, 4, 1), {
        "frequency": "daily", "count": 3}), headers=make.headers(make.user()))
    assert resp.status_code == 201, resp.get_json()
    assert [(o["start_at"], o["end_at"]) for o in resp.get_json()["occurrences"]] == [
        ("2030-06-03T23:30:00+08:00", "2030-06-04T01:00:00+08:00"),
        ("2030-06-04T23:30:00+08:00", "2030-06-05T01:00:00+08:00"),
        ("2030-06-05T23:30:00+08:00", "2030-06-06T01:00:00+08:00")]


def test_conflicts_are_reported_and_the_rest_booked_on_request(client, make):
    room = make_room(make)
    organiser, other = make.user(), make.user()
    book(room, other, at(2030, 6, 5, 9, 30), at(2030, 6, 5, 11), subject="机密")
    payload = series(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10), {"frequency": "daily", "count": 5})
    preview = client.post("/api/v1/rooms/series/preview", json=payload, headers=make.headers(organiser)).get_json()
    outcome = [(o["start_at"][:10], o["ok"], o["code"]) for o in preview["occurrences"]]
    assert outcome == [("2030-06-03", True, None), ("2030-06-04", True, None),
                       ("2030-06-05", False, "ROOM_TIME_CONFLICT"), ("2030-06-06", True, None),
                       ("2030-06-07", True, None)]
    assert preview["occurrences"][2]["conflicts"][0]["start_at"] == "2030-06-05T09:30:00+08:00"
    assert db.session.execute(select(RoomBooking).where(RoomBooking.user_id == organiser.id)).first() is None
    refused = client.post("/api/v1/rooms/series", json=payload, headers=make.headers(organiser))
    assert refused.status_code == 409 and refused.get_json()["code"] == "ROOM_SERIES_CONFLICTS"
    assert len(refused.get_json()["details"]["occurrences"]) == 5
    assert "机密" not in refused.get_data(as_text=True)
    assert db.session.execute(select(RoomBooking).where(RoomBooking.user_id == organiser.id)).first() is None
    booked = client.post("/api/v1/rooms/series", json={**payload, "book_available": True},
                         headers=make.headers(organiser))
    assert booked.status_code == 201 and booked.get_json()["booked"] == 4


def test_monthly_skips_months_without_the_day_and_too_many_is_refused(client, make):
    room = make_room(make, advance_days=366, open_days="every_day")
    resp = client.post("/api/v1/rooms/series", json=series(room, at(2030, 7, 31, 9), at(2030, 7, 31, 10), {
        "frequency": "monthly", "count": 3}), headers=make.headers(make.user()))
    assert [o["start_at"][:10] for o in resp.get_json()["occurrences"]] == ["2030-07-31", "2030-08-31", "2030-10-31"]
    many = client.post("/api/v1/rooms/series/preview", json=series(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10), {
        "frequency": "daily", "until": "2031-06-01"}), headers=make.headers(make.user()))
    assert many.status_code == 422 and many.get_json()["code"] == "ROOM_SERIES_TOO_LONG"
    both = client.post("/api/v1/rooms/series/preview", json=series(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10), {
        "frequency": "daily", "until": "2030-06-09", "count": 2}), headers=make.headers(make.user()))
    assert both.status_code == 422


@pytest.mark.parametrize("recurrence", [
    {"frequency": "weekly", "weekdays": [1, 3], "count": 4},  # the first start (a Monday) is not listed
    {"frequency": "daily", "until": "2030-06-02"},  # until before the first start
    {"frequency": "weekly", "weekdays": [7], "count": 2},
    {"frequency": "daily", "interval": 13, "count": 2},
    {"frequency": "yearly", "count": 2},
])
def test_bad_recurrences_are_422(client, make, recurrence):
    room = make_room(make)
    resp = client.post("/api/v1/rooms/series/preview", json=series(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10),
                                                                    recurrence), headers=make.headers(make.user()))
    assert resp.status_code == 422 and resp.get_json()["code"] == "VALIDATION_ERROR", resp.get_json()


def test_weekly_every_other_week_with_a_secretary(client, make):
    room = make_room(make, advance_days=60)
    leader, secretary = make.user(), make.user()
    client.post("/api/v1/rooms/delegations", json={"secretary_id": secretary.id}, headers=make.headers(leader))
    resp = client.post("/api/v1/rooms/series", json=series(room, at(2030, 6, 5, 15), at(2030, 6, 5, 16), {
        "frequency": "weekly", "interval": 2, "count": 3}, on_behalf_of=leader.id), headers=make.headers(secretary))
    assert resp.status_code == 201, resp.get_json()
    assert [o["start_at"][:16] for o in resp.get_json()["occurrences"]] == [
        "2030-06-05T15:00", "2030-06-19T15:00", "2030-07-03T15:00"]
    rows = db.session.execute(select(RoomBooking.user_id, RoomBooking.booked_by_id)).all()
    assert set(rows) == {(leader.id, secretary.id)}
    url = f"/api/v1/rooms/series/{resp.get_json()['series_id']}"
    for person in (leader, secretary):
        assert client.get(url, headers=make.headers(person)).status_code == 200


def test_edit_and_cancel_the_future_occurrences(client, make, room_clock):
    room = make_room(make)
    organiser, attendee, other = make.user(), make.user(), make.user()
    created = client.post("/api/v1/rooms/series", json=series(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10), {
        "frequency": "daily", "count": 4}, attendee_ids=[attendee.id]), headers=make.headers(organiser)).get_json()
    invites = db.session.execute(select(InAppMessage).where(InAppMessage.user_id == attendee.id)).scalars().all()
    assert len(invites) == 1  # one invitation for the series, not one per occurrence
    assert "起共 4 场" in invites[0].body
    url = f"/api/v1/rooms/series/{created['series_id']}"
    assert client.get(url, headers=make.headers(other)).status_code == 404
    book(room, other, at(2030, 6, 5, 14), at(2030, 6, 5, 15))
    room_clock(at(2030, 6, 3, 12))  # the first occurrence is past
    admin = make.user("staff", "admin")
    assert client.patch(url, json={"subject": "改"}, headers=make.headers(admin)).status_code == 403
    assert client.post(url + "/cancel", json={}, headers=make.headers(admin)).status_code == 403
    newcomer = make.user()
    report = client.patch(url, json={"start_time": "14:00", "subject": "改到下午",
                                     "attendee_ids": [attendee.id, newcomer.id]}, headers=make.headers(organiser))
    assert report.status_code == 200, report.get_json()
    assert [(o["start_at"][:16], o["ok"], o["code"]) for o in report.get_json()["occurrences"]] == [
        ("2030-06-04T14:00", True, None), ("2030-06-05T14:00", False, "ROOM_TIME_CONFLICT"),
        ("2030-06-06T14:00", True, None)]
    told = lambda user: db.session.execute(select(InAppMessage.template, InAppMessage.body).where(  # noqa: E731
        InAppMessage.user_id == user.id).order_by(InAppMessage.id)).all()
    assert [t for t, _ in told(newcomer)] == ["room_invited"] and "起共 2 场" in told(newcomer)[0][1]
    assert [t for t, _ in told(attendee)] == ["room_invited", "room_booking_changed"]
    assert "6月4日 14:00-15:00 起共 2 场" in told(attendee)[1][1]
    rows = client.get(url, headers=make.headers(organiser)).get_json()["bookings"]
    assert [(b["start_at"][:16], b["subject"]) for b in rows] == [
        ("2030-06-03T09:00", "周例会"), ("2030-06-04T14:00", "改到下午"), ("2030-06-05T09:00", "周例会"),
        ("2030-06-06T14:00", "改到下午")]
    cancelled = client.post(url + "/cancel", json={"reason": "停开"}, headers=make.headers(organiser))
    assert cancelled.get_json() == {"cancelled": 3}
    assert [t for t, _ in told(attendee)][-1] == "room_booking_cancelled" and len(told(attendee)) == 3
    assert [t for t, _ in told(newcomer)] == ["room_invited", "room_booking_cancelled"]
    statuses = [b["status"] for b in client.get(url, headers=make.headers(organiser)).get_json()["bookings"]]
    assert statuses == ["approved", "cancelled", "cancelled", "cancelled"]
