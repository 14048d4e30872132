"""The next free hour: earliest free 60 minutes per room from now (rounded up to the quarter
hour) inside today's opening windows and the next open day's, buffers and blackouts kept."""

from __future__ import annotations

from datetime import time

from app.extensions import db
from blueprints.rooms import search
from models.rooms import RoomBlackout
from tests.rooms.conftest import at, book, make_room

API = "/api/v1/rooms"


def slots(now, **kwargs) -> dict[int, tuple]:
    return {f["room"]["id"]: (f["start_at"], f["end_at"]) for f in next_hour(now, **kwargs)}


def next_hour(now, **kwargs) -> list[dict]:
    return search.next_free_hour(now=now, per_page=100, **kwargs)["items"]


def test_quarter_hour_rounding():
    assert search._ceil(at(2030, 6, 3, 8, 5), 15) == at(2030, 6, 3, 8, 15)
    assert search._ceil(at(2030, 6, 3, 8, 15), 15) == at(2030, 6, 3, 8, 15)
    assert search._ceil(at(2030, 6, 3, 8, 15).replace(second=1), 15) == at(2030, 6, 3, 8, 30)
    assert search._ceil(at(2030, 6, 3, 23, 50), 15) == at(2030, 6, 4, 0, 0)


def test_across_a_busy_morning(app, make):
    user = make.user()
    busy = make_room(make, capacity=10)
    book(busy, user, at(2030, 6, 3, 8), at(2030, 6, 3, 9))
    book(busy, user, at(2030, 6, 3, 9), at(2030, 6, 3, 10, 30))
    book(busy, user, at(2030, 6, 3, 11), at(2030, 6, 3, 12))  # the 30-minute gap before it is too short
    buffered = make_room(make, capacity=10, buffer_minutes=15)
    book(buffered, user, at(2030, 6, 3, 8, 30), at(2030, 6, 3, 9, 30))  # blocked until 09:45
    gap = make_room(make, capacity=20)
    book(gap, user, at(2030, 6, 3, 7, 30), at(2030, 6, 3, 8, 45))
    quiet = make_room(make, capacity=30)
    full = make_room(make, capacity=10)
    book(full, user, at(2030, 6, 3, 8), at(2030, 6, 3, 21))
    dark = make_room(make, capacity=10)
    db.session.add(RoomBlackout(room_id=dark.id, starts_at=at(2030, 6, 3, 7), ends_at=at(2030, 6, 3, 13, 20),
                                reason="检修"))
    long_only = make_room(make, min_minutes=90)  # a 60-minute slot is below its minimum
    db.session.commit()

    found = next_hour(at(2030, 6, 3, 8, 5))
    assert [(f["room"]["id"], f["start_at"]) for f in found] == [
        (quiet.id, at(2030, 6, 3, 8, 15)),      # free from now, rounded up to the quarter hour
        (gap.id, at(2030, 6, 3, 8, 45)),        # after the booking running into the morning
        (buffered.id, at(2030, 6, 3, 9, 45)),   # 08:15 + 1 h + 15 min buffer meets 08:30; after 09:30 + 15
        (busy.id, at(2030, 6, 3, 12)),          # 10:30-11:00 is too short
        (dark.id, at(2030, 6, 3, 13, 20)),      # after the blackout
        (full.id, at(2030, 6, 4, 8)),           # nothing left today: the next day it opens
    ]
    assert all(f["end_at"] == f["start_at"] + (at(2030, 6, 3, 9) - at(2030, 6, 3, 8)) for f in found)
    assert long_only.id not in {f["room"]["id"] for f in found}
    # filters as in the range search
    assert [f["room"]["id"] for f in next_hour(at(2030, 6, 3, 8, 5), capacity=15)] == [quiet.id, gap.id]
    page = search.next_free_hour(now=at(2030, 6, 3, 8, 5), page=2, per_page=4)
    assert (page["total"], [f["room"]["id"] for f in page["items"]]) == (6, [dark.id, full.id])


def test_equal_starts_best_capacity_first_and_buffers_before(app, make):
    user = make.user()
    big, small = make_room(make, capacity=40), make_room(make, capacity=6)
    buffered = make_room(make, capacity=8, buffer_minutes=30)
    book(buffered, user, at(2030, 6, 3, 10, 0), at(2030, 6, 3, 11))  # blocked until 11:30
    found = next_hour(at(2030, 6, 3, 8, 5))
    assert [f["room"]["id"] for f in found] == [small.id, buffered.id, big.id]
    assert found[1]["start_at"] == at(2030, 6, 3, 8, 15)  # 09:15 + 30 min buffer = 09:45 <= 10:00
    book(buffered, user, at(2030, 6, 3, 9, 0), at(2030, 6, 3, 9, 10), status="pending")  # blocked until 09:40
    # 08:15 + 1 h + 30 min meets 09:00; 09:40 + 1 h + 30 min meets 10:00; after 11:30
    assert slots(at(2030, 6, 3, 8, 5))[buffered.id][0] == at(2030, 6, 3, 11, 30)


def test_friday_evening_and_the_weekend(app, make):
    workdays = make_room(make, capacity=10)
    daily = make_room(make, capacity=12, open_days="every_day")
    same_day_only = make_room(make, capacity=14, advance_days=0)
    now = at(2030, 6, 7, 20, 30)  # Friday: 30 minutes left before 21:00
    found = slots(now)
    assert found[workdays.id][0] == at(2030, 6, 10, 8)  # Monday
    assert found[daily.id][0] == at(2030, 6, 8, 8)      # Saturday
    assert same_day_only.id not in found                # Monday is more than 0 days ahead


def test_a_window_past_midnight(app, make):
    night = make_room(make, opens_at=time(18, 0), closes_at=time(2, 0), open_days="every_day")
    assert slots(at(2030, 6, 4, 1, 0))[night.id] == (at(2030, 6, 4, 1, 0), at(2030, 6, 4, 2, 0))
    # 01:15 + 1 h is past 02:00: this evening's window
    assert slots(at(2030, 6, 4, 1, 10))[night.id][0] == at(2030, 6, 4, 18, 0)
    book(night, make.user(), at(2030, 6, 4, 17, 0), at(2030, 6, 5, 1, 30))  # over midnight
    assert slots(at(2030, 6, 4, 12, 0))[night.id][0] == at(2030, 6, 5, 18, 0)


def test_route(app, client, make, room_clock):
    room_clock(at(2030, 6, 3, 8, 5))
    office = make.department(name="办公室")
    open_room = make_room(make, capacity=10, equipment=["projector"])
    office_room = make_room(make, capacity=8, equipment=["projector"])
    office_room.departments.append(office)
    db.session.commit()
    resp = client.get(f"{API}/available/next-hour", query_string={"equipment": "projector"},
                      headers=make.headers(make.user(department=make.department())))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()["items"]
    assert [(r["room"]["id"], r["start_at"], r["end_at"]) for r in body] == [
        (open_room.id, "2030-06-03T08:15:00+08:00", "2030-06-03T09:15:00+08:00")]
    body = client.get(f"{API}/available/next-hour", headers=make.headers(make.user(department=office))).get_json()
    assert body["total"] == 2 and body["items"][0]["room"]["location"] == office_room.place.path
    body = body["items"]
    assert [r["room"]["id"] for r in body] == [office_room.id, open_room.id]
    resp = client.get(f"{API}/available/next-hour", query_string={"capacity": "many"},
                      headers=make.headers(make.user()))
    assert resp.status_code == 422 and resp.get_json()["code"] == "VALIDATION_ERROR"


def test_just_before_midnight(app, make):
    """23:55 rounds up to 00:00 of the next day; "today" (for advance_days) is still the day of now."""
    night = make_room(make, opens_at=time(0, 0), closes_at=time(0, 0), open_days="every_day", advance_days=0)
    assert night.id not in slots(at(2030, 6, 3, 23, 55))  # 00:00 tomorrow is a day ahead: too far
    assert slots(at(2030, 6, 3, 23, 0))[night.id] == (at(2030, 6, 3, 23, 0), at(2030, 6, 4, 0, 0))
