"""Utilisation figures on a small known set, and the route's permissions and bad input."""

from __future__ import annotations

from datetime import date, time

import pytest

from app.errors import AppError
from app.extensions import db
from blueprints.rooms import metrics
from models.calendar import CalendarDay
from tests.rooms.conftest import at, book, make_room

API = "/api/v1/rooms/utilisation"
WEEK = (date(2030, 6, 3), date(2030, 6, 9))  # Monday to Sunday


@pytest.fixture
def week(app, make):
    """Room `day` (08:00-21:00 on workdays; Wednesday a holiday) with a week of bookings in
    every state, two of them across the period's edges; room `night` (18:00-02:00 every day)
    with none; a disabled room with none (not reported)."""
    user = make.user()
    day = make_room(make, name="日间会议室", capacity=12)
    night = make_room(make, name="夜间会议室", capacity=6, opens_at=time(18, 0), closes_at=time(2, 0),
                      open_days="every_day")
    make_room(make, name="停用会议室", is_active=False)
    db.session.add(CalendarDay(day=date(2030, 6, 5), kind="holiday", name="假日"))
    db.session.commit()
    book(day, user, at(2030, 6, 3, 9), at(2030, 6, 3, 10))  # approved: booked 1 h
    book(day, user, at(2030, 6, 3, 10), at(2030, 6, 3, 12), status="finished",
         checked_in_at=at(2030, 6, 3, 10, 5), finished_at=at(2030, 6, 3, 11, 30))  # used 85 min
    book(day, user, at(2030, 6, 4, 14), at(2030, 6, 4, 15, 30), status="checked_in",
         checked_in_at=at(2030, 6, 4, 13, 50))  # used from the start: 90 min
    book(day, user, at(2030, 6, 5, 9), at(2030, 6, 5, 10), status="no_show")
    book(day, user, at(2030, 6, 6, 9), at(2030, 6, 6, 9, 30), status="no_show")
    book(day, user, at(2030, 6, 6, 10), at(2030, 6, 6, 11), status="cancelled")
    book(day, user, at(2030, 6, 7, 9), at(2030, 6, 7, 10), status="pending")  # not counted at all
    book(day, user, at(2030, 6, 7, 15), at(2030, 6, 7, 16), status="finished",
         finished_at=at(2030, 6, 7, 16, 5))  # no check-in (room without): used 60 min
    book(day, user, at(2030, 6, 2, 23), at(2030, 6, 3, 0, 30), status="finished",
         checked_in_at=at(2030, 6, 2, 23))  # starts before the period: 30 min in it, not counted
    book(day, user, at(2030, 6, 9, 23, 30), at(2030, 6, 10, 1))  # 30 min in the period, counted
    return day, night


def test_figures_of_a_known_week(week):
    day, night = week
    rows = {r["room_id"]: r for r in metrics.utilisation(*WEEK)}
    assert set(rows) == {day.id, night.id}
    hours = [0] * 24
    hours[0], hours[9], hours[10], hours[11], hours[14], hours[15], hours[23] = 30, 150, 60, 60, 60, 90, 30
    assert rows[day.id] == {
        "room_id": day.id, "room_name": "日间会议室", "building": day.place.parent.parent.name,
        "floor": day.place.parent.name, "capacity": 12, "is_active": True,
        "open_hours": 52.0,  # 4 workdays x 13 h (Wednesday is a holiday)
        "booked_hours": 8.0,  # 1 + 2 + 1.5 + 1 + 0.5 + 1 + 0.5 + 0.5
        "used_hours": 4.42,   # 85 + 90 + 60 + 30 minutes
        "booked_pct": 15.4, "utilisation_pct": 8.5,
        "bookings": 7, "checked_in": 1, "finished": 2, "no_show": 2, "cancelled": 1, "no_show_rate": 0.4,
        "booked_minutes_by_hour": hours,
        "peak_hours": [{"hour": 9, "booked_minutes": 150}, {"hour": 15, "booked_minutes": 90},
                       {"hour": 10, "booked_minutes": 60}],
    }
    # 18:00-02:00 every day: Sunday's window's last 2 h, 6 x 8 h, and the 6 h of the last before midnight
    assert rows[night.id]["open_hours"] == 56.0
    assert (rows[night.id]["booked_hours"], rows[night.id]["utilisation_pct"], rows[night.id]["no_show_rate"],
            rows[night.id]["peak_hours"]) == (0.0, 0.0, None, [])


def test_one_room_one_day_and_a_disabled_room(week, make):
    day, _ = week
    (row,) = metrics.utilisation(date(2030, 6, 3), date(2030, 6, 3), room_id=day.id)
    assert (row["open_hours"], row["booked_hours"], row["used_hours"], row["bookings"]) == (13.0, 3.5, 1.92, 2)
    assert row["peak_hours"] == [{"hour": 9, "booked_minutes": 60}, {"hour": 10, "booked_minutes": 60},
                                 {"hour": 11, "booked_minutes": 60}]
    # a disabled room is reported for a period in which it has bookings, not otherwise
    day.is_active = False
    db.session.commit()
    assert day.id in {r["room_id"] for r in metrics.utilisation(*WEEK)}
    assert day.id not in {r["room_id"] for r in metrics.utilisation(date(2030, 7, 1), date(2030, 7, 1))}


def test_period_limits():
    for start, end in ((date(2030, 6, 3), date(2030, 6, 2)), (date(2030, 1, 1), date(2031, 1, 2))):
        with pytest.raises(AppError) as err:
            metrics.check_period(start, end)
        assert err.value.code == "ROOM_PERIOD_INVALID"
    metrics.check_period(date(2030, 1, 1), date(2031, 1, 1))  # 366 days


def test_route(week, client, make):
    day, night = week
    for role in ("admin", "auditor"):
        resp = client.get(API, query_string={"date_from": "2030-06-03", "date_to": "2030-06-09"},
                          headers=make.headers(make.user(role)))
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert (body["date_from"], body["date_to"]) == ("2030-06-03", "2030-06-09")
        assert {r["room_id"]: r["used_hours"] for r in body["rooms"]} == {day.id: 4.42, night.id: 0.0}
    admin = make.headers(make.user("admin"))
    one = client.get(API, query_string={"date_from": "2030-06-03", "date_to": "2030-06-09", "room_id": night.id},
                     headers=admin).get_json()
    assert [r["room_id"] for r in one["rooms"]] == [night.id]
    resp = client.get(API, query_string={"date_from": "2030-06-03", "date_to": "2030-06-09"},
                      headers=make.headers(make.user()))
    assert resp.status_code == 403 and resp.get_json()["code"] == "FORBIDDEN"
    for query, status, code in (
            ({"date_from": "2030-06-09", "date_to": "2030-06-03"}, 422, "ROOM_PERIOD_INVALID"),
            ({"date_from": "2030-01-01", "date_to": "2031-01-02"}, 422, "ROOM_PERIOD_INVALID"),
            ({"date_from": "2030-06-03"}, 422, "VALIDATION_ERROR"),
            ({"date_from": "1999-12-31", "date_to": "2000-01-01"}, 422, "VALIDATION_ERROR"),
            ({"date_from": "2030-06-03", "date_to": "2030-06-09", "room_id": 999999}, 404, "ROOM_NOT_FOUND"),
            ({"date_from": "2030-06-03", "date_to": "2030-06-09", "room_id": 2**40}, 422, "VALIDATION_ERROR")):
        resp = client.get(API, query_string=query, headers=admin)
        assert (resp.status_code, resp.get_json()["code"]) == (status, code), query
