"""Free-room search: `free_rooms` (one query for all rooms) against the rules booking
applies, and GET /rooms/available with its bad input."""

from __future__ import annotations

import itertools
from datetime import time, timedelta

import pytest

from app.errors import AppError
from app.extensions import db
from blueprints.rooms import rules, search
from models.calendar import CalendarDay
from models.places import Place
from models.rooms import APPROVAL_MODES, RoomBlackout
from tests.rooms.conftest import at, book, make_room

API = "/api/v1/rooms"
NOW = at(2030, 6, 3, 7)  # Monday 07:00


def free(start, end, **kwargs) -> list[int]:
    return [card["id"] for card in search.free_rooms(start, end, now=NOW, **kwargs)["items"]]


def blackout(room, start, end, reason="检修"):
    db.session.add(RoomBlackout(room_id=room.id if room else None, starts_at=start, ends_at=end, reason=reason))
    db.session.commit()


def test_free_taken_back_to_back_buffer_and_blackout(app, make):
    small, middle, big = (make_room(make, capacity=n) for n in (6, 12, 30))
    buffered = make_room(make, capacity=8, buffer_minutes=15)
    user = make.user()
    start, end = at(2030, 6, 3, 10), at(2030, 6, 3, 11)
    assert free(start, end) == [small.id, buffered.id, middle.id, big.id]  # best capacity fit first

    book(middle, user, at(2030, 6, 3, 10, 30), at(2030, 6, 3, 12))  # taken: overlaps
    book(small, user, at(2030, 6, 3, 9), at(2030, 6, 3, 10))  # back to back: free
    book(small, user, at(2030, 6, 3, 11), at(2030, 6, 3, 12))  # back to back after: free
    book(buffered, user, at(2030, 6, 3, 11, 10), at(2030, 6, 3, 12))  # 10 min after the end < 15 min buffer
    blackout(big, at(2030, 6, 3, 10, 59), at(2030, 6, 3, 13))
    assert free(start, end) == [small.id]

    # the buffer also counts before: a booking ending 10 minutes before the start holds [.., +15)
    assert buffered.id not in free(at(2030, 6, 3, 12, 10), at(2030, 6, 3, 13))
    assert buffered.id in free(at(2030, 6, 3, 12, 15), at(2030, 6, 3, 13))
    # a cancelled, rejected or no-show booking does not hold the room
    for status in ("cancelled", "rejected", "no_show", "lapsed"):
        book(big, user, at(2030, 6, 3, 15), at(2030, 6, 3, 16), status=status)
    assert big.id in free(at(2030, 6, 3, 15), at(2030, 6, 3, 16))
    # pending and finished ones do
    book(big, user, at(2030, 6, 3, 15), at(2030, 6, 3, 16), status="pending")
    book(middle, user, at(2030, 6, 3, 15), at(2030, 6, 3, 16), status="finished")
    assert free(at(2030, 6, 3, 15), at(2030, 6, 3, 16)) == [small.id, buffered.id]
    # a blackout of every room
    blackout(None, at(2030, 6, 3, 17), at(2030, 6, 3, 18), reason="全楼停电")
    assert free(at(2030, 6, 3, 17, 30), at(2030, 6, 3, 18, 30)) == []
    assert free(at(2030, 6, 3, 18), at(2030, 6, 3, 19)) == [small.id, buffered.id, middle.id, big.id]


def test_closed_day_hours_duration_and_advance(app, make):
    weekdays = make_room(make)
    daily = make_room(make, open_days="every_day", opens_at=time(7, 0), closes_at=time(23, 0), capacity=20)
    strict = make_room(make, min_minutes=60, max_minutes=90, advance_days=2, capacity=25)
    saturday = (at(2030, 6, 8, 9), at(2030, 6, 8, 10))
    assert free(*saturday) == [daily.id]
    # a holiday on a weekday (calendar) closes it; a make-up Sunday opens it
    db.session.add_all([CalendarDay(day=at(2030, 6, 4).date(), kind="holiday", name="假日"),
                        CalendarDay(day=at(2030, 6, 9).date(), kind="workday", name="调休")])
    db.session.commit()
    assert free(at(2030, 6, 4, 9), at(2030, 6, 4, 10)) == [daily.id]
    assert free(at(2030, 6, 9, 9), at(2030, 6, 9, 10)) == [weekdays.id, daily.id]
    # hours: 20:30-21:30 is past the default close at 21:00; 07:30 before its 08:00
    assert free(at(2030, 6, 3, 20, 30), at(2030, 6, 3, 21, 30)) == [daily.id]
    assert free(at(2030, 6, 3, 7, 30), at(2030, 6, 3, 8, 30)) == [daily.id]
    assert free(at(2030, 6, 3, 20), at(2030, 6, 3, 21)) == [weekdays.id, daily.id, strict.id]
    # duration: 30 minutes is below strict's 60; 2 hours above its 90
    assert free(at(2030, 6, 3, 9), at(2030, 6, 3, 9, 30)) == [weekdays.id, daily.id]
    assert free(at(2030, 6, 3, 9), at(2030, 6, 3, 11)) == [weekdays.id, daily.id]
    # advance: strict takes bookings at most 2 days ahead (Wednesday yes, Thursday no)
    assert strict.id in free(at(2030, 6, 5, 9), at(2030, 6, 5, 10))
    assert strict.id not in free(at(2030, 6, 6, 9), at(2030, 6, 6, 10))
    assert strict.id in free(at(2030, 6, 6, 9), at(2030, 6, 6, 10), far_ahead_ok=True)
    # in the past: nothing
    assert free(at(2030, 6, 3, 6), at(2030, 6, 3, 8)) == []


def test_capacity_equipment_building_department_and_exclusion(app, make):
    tower = Place(kind="building", name="综合楼")
    db.session.add(tower)
    db.session.flush()
    plain = make_room(make, capacity=10, equipment=["whiteboard"], building=tower)
    video = make_room(make, capacity=20, equipment=["projector", "video_conference", "microphones"], building=tower)
    elsewhere = make_room(make, capacity=40, equipment=["projector", "video_conference"])
    on_ground = make_room(make, capacity=50)  # a room placed directly under its building
    on_ground.place.parent_id = tower.id
    db.session.commit()
    finance, office = make.department(name="财务处"), make.department(name="办公室")
    video.departments.append(office)
    db.session.commit()
    span = (at(2030, 6, 3, 9), at(2030, 6, 3, 10))
    assert free(*span, capacity=15) == [video.id, elsewhere.id, on_ground.id]
    assert free(*span, capacity=41) == [on_ground.id]
    assert free(*span, equipment=["projector", "video_conference"]) == [video.id, elsewhere.id]
    assert free(*span, equipment=["microphones", "projector"]) == [video.id]
    assert free(*span, building_id=tower.id) == [plain.id, video.id, on_ground.id]
    assert free(*span, department_id=finance.id) == [plain.id, elsewhere.id, on_ground.id]
    assert free(*span, department_id=office.id) == [plain.id, video.id, elsewhere.id, on_ground.id]
    assert free(*span, exclude_room_id=plain.id, per_page=2) == [video.id, elsewhere.id]
    on_ground.is_active = False
    db.session.commit()
    assert on_ground.id not in free(*span)


def test_free_rooms_agrees_with_the_booking_rules(app, make):
    """For every room and many ranges (across midnight, closed days, buffers, blackouts):
    free_rooms lists a room exactly when check_times, check_blackouts and the exclusion
    constraint would let a booking of that range in."""
    user = make.user()
    rooms = [
        make_room(make),
        make_room(make, buffer_minutes=30, min_minutes=60, max_minutes=120, capacity=4),
        make_room(make, opens_at=time(18, 0), closes_at=time(2, 0), open_days="every_day", capacity=30),
        make_room(make, opens_at=time(0, 0), closes_at=time(0, 0), open_days="every_day", advance_days=0,
                  max_minutes=1440, capacity=8),
        make_room(make, opens_at=time(9, 0), closes_at=time(17, 0), buffer_minutes=10, capacity=16),
        make_room(make, opens_at=time(22, 0), closes_at=time(6, 0), capacity=2),  # workdays, past midnight
    ]
    db.session.add(CalendarDay(day=at(2030, 6, 4).date(), kind="holiday", name="假日"))
    db.session.commit()
    for room in rooms:
        for start_hour, hours in ((9, 1), (13, 2), (20, 3)):
            start = at(2030, 6, 3, start_hour, 10)
            book(room, user, start, start + timedelta(hours=hours)) if rules.overlapping(
                room.id, start, start + timedelta(hours=hours, minutes=room.buffer_minutes)) == [] else None
    blackout(rooms[0], at(2030, 6, 3, 16), at(2030, 6, 3, 17))
    blackout(rooms[2], at(2030, 6, 4, 0, 30), at(2030, 6, 4, 1))
    checked = 0
    starts = [at(2030, 6, 2, 22) + timedelta(minutes=45 * n) for n in range(64)]  # Sunday 22:00 .. Tuesday
    for start, minutes in itertools.product(starts, (30, 60, 90, 240, 600)):
        end = start + timedelta(minutes=minutes)
        expected = []
        for room in sorted(rooms, key=lambda r: (r.capacity, r.id)):
            try:
                rules.check_times(room, start, end, NOW)
                rules.check_blackouts(room, start, end)
            except AppError:
                continue
            if not rules.overlapping(room.id, start, rules.blocked_until(room, end)):
                expected.append(room.id)
        assert free(start, end) == expected, (start, end)
        checked += len(expected)
    assert checked > 100  # the ranges did find free rooms, not only refusals


def test_route_lists_free_rooms_the_caller_may_book(app, client, make, room_clock):
    room_clock(NOW)
    finance, office = make.department(name="财务处"), make.department(name="办公室")
    open_room = make_room(make, capacity=10)
    office_room = make_room(make, capacity=12)
    office_room.departments.append(office)
    db.session.commit()
    params = {"start_at": "2030-06-03T09:00:00+08:00", "end_at": "2030-06-03T10:00:00+08:00"}
    resp = client.get(f"{API}/available", query_string=params, headers=make.headers(make.user(department=finance)))
    assert resp.status_code == 200, resp.get_json()
    assert [r["id"] for r in resp.get_json()["items"]] == [open_room.id]
    body = client.get(f"{API}/available", query_string={**params, "equipment": "projector,whiteboard"},
                      headers=make.headers(make.user(department=office))).get_json()["items"]
    assert [(r["id"], r["bookable"]) for r in body] == [(open_room.id, True), (office_room.id, True)]
    # a card: what a list shows (the whole room is GET /rooms/{id})
    place = db.session.get(Place, office_room.place_id)
    floor, building = place.parent, place.parent.parent
    assert body[1] == {
        "id": office_room.id, "name": office_room.name, "location": place.path, "capacity": 12,
        "building": {"id": building.id, "name": building.name}, "floor": {"id": floor.id, "name": floor.name},
        "equipment": ["projector", "whiteboard"], "equipment_labels": ["投影仪", "白板"], "approval": "none",
        "approval_label": APPROVAL_MODES["none"], "checkin_required": True, "bookable": True,
        "cover_thumbnail_url": None}
    # no department (an administrator): every free room, each saying whether it is bookable
    body = client.get(f"{API}/available", query_string=params, headers=make.headers(make.user("admin"))).get_json()
    assert [(r["id"], r["bookable"]) for r in body["items"]] == [(open_room.id, True), (office_room.id, False)]
    assert client.get(f"{API}/available", query_string={**params, "capacity": 11},
                      headers=make.headers(make.user(department=office))).get_json()["items"][0]["id"] == office_room.id


def test_route_pages_best_fits_first(app, client, make, room_clock):
    room_clock(NOW)
    rooms = [make_room(make, capacity=n) for n in (30, 8, 12, 6, 20)]
    by_fit = [r.id for r in sorted(rooms, key=lambda r: r.capacity)]
    params = {"start_at": "2030-06-03T09:00:00+08:00", "end_at": "2030-06-03T10:00:00+08:00", "per_page": 2}
    headers = make.headers(make.user())
    pages = [client.get(f"{API}/available", query_string={**params, "page": n}, headers=headers).get_json()
             for n in (1, 2, 3, 4)]
    assert [p["total"] for p in pages] == [5, 5, 5, 5]
    assert [[r["id"] for r in p["items"]] for p in pages] == [by_fit[:2], by_fit[2:4], by_fit[4:], []]


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"start_at": "2030-06-03T10:00:00+08:00", "end_at": "2030-06-03T09:00:00+08:00"}, 422, "ROOM_RANGE_INVALID"),
    ({"start_at": "2030-06-03T10:00:00+08:00", "end_at": "2030-06-03T10:00:00+08:00"}, 422, "ROOM_RANGE_INVALID"),
    ({"start_at": "2030-06-03T09:00:30+08:00", "end_at": "2030-06-03T10:00:00+08:00"}, 422, "ROOM_RANGE_INVALID"),
    ({"start_at": "2030-06-03T06:00:00+08:00", "end_at": "2030-06-03T08:00:00+08:00"}, 422, "ROOM_IN_PAST"),
    ({"start_at": "2030-06-03T09:00:00+08:00", "end_at": "2030-06-04T09:01:00+08:00"}, 422, "ROOM_TOO_LONG"),
    ({"start_at": "2030-06-03T09:00:00", "end_at": "2030-06-03T10:00:00"}, 422, "VALIDATION_ERROR"),
    ({"start_at": "2030-06-03T09:00:00+08:00"}, 422, "VALIDATION_ERROR"),
    ({"start_at": "9999-12-31T23:00:00+08:00", "end_at": "9999-12-31T23:59:00-14:00"}, 422, "VALIDATION_ERROR"),
    ({"start_at": "2030-06-03T09:00:00+08:00", "end_at": "2030-06-03T10:00:00+08:00", "equipment": "laser"},
     422, "VALIDATION_ERROR"),
    ({"start_at": "2030-06-03T09:00:00+08:00", "end_at": "2030-06-03T10:00:00+08:00", "capacity": 0},
     422, "VALIDATION_ERROR"),
    ({"start_at": "2030-06-03T09:00:00+08:00", "end_at": "2030-06-03T10:00:00+08:00", "building_id": 2**40},
     422, "VALIDATION_ERROR"),
    ({"start_at": "2030-06-03T09:00:00+08:00", "end_at": "2030-06-03T10:00:00+08:00", "per_page": 101},
     422, "VALIDATION_ERROR"),
])
def test_bad_search_input_is_4xx(app, client, make, room_clock, room, params, status, code):
    room_clock(NOW)
    resp = client.get(f"{API}/available", query_string=params, headers=make.headers(make.user()))
    assert resp.status_code == status, resp.get_json()
    if code:
        assert resp.get_json()["code"] == code


def test_a_whole_day_is_searchable(app, client, make, room_clock):
    room_clock(NOW)
    allday = make_room(make, opens_at=time(0, 0), closes_at=time(0, 0), open_days="every_day", max_minutes=1440)
    make_room(make)
    resp = client.get(f"{API}/available", headers=make.headers(make.user()), query_string={
        "start_at": "2030-06-04T00:00:00+08:00", "end_at": "2030-06-05T00:00:00+08:00"})
    assert [r["id"] for r in resp.get_json()["items"]] == [allday.id]


def test_search_is_for_signed_in_staff(app, client, make, room_clock):
    room_clock(NOW)
    params = {"start_at": "2030-06-03T09:00:00+08:00", "end_at": "2030-06-03T10:00:00+08:00"}
    assert client.get(f"{API}/available", query_string=params).status_code == 401
    for user in (make.user(kind="visitor"), make.user("technician", company=make.company("property"))):
        resp = client.get(f"{API}/available", query_string=params, headers=make.headers(user))
        assert resp.status_code == 403 and resp.get_json()["code"] == "FORBIDDEN"
