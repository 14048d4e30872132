"""Meeting-room test data shared by the rooms tests (additive edits only).

Times: tests pass fixed times (`now=`) to services, or fix `rules.clock` with `room_clock`
for routes. `at(2030, 6, 3, 9)` is 2030-06-03 09:00 in Asia/Shanghai (a Monday; the
calendar table is empty in tests, so workdays are Monday to Friday).

`make_room(make, **overrides)` adds a room (a place of kind room under a building and floor
of its own) with the model's defaults: open 08:00-21:00 on workdays, 30..480 minutes, 30 days
ahead, no buffer, no approval, check-in required. `book(room, user, start, end, ...)` inserts
a booking straight through `rules.occupy` (no service rules), for tests that need bookings
in place."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from app.extensions import db
from app.timeutil import SHANGHAI
from blueprints.rooms import rules
from models import User
from models.places import Place
from models.rooms import Room, RoomBooking

_seq = itertools.count(1)

MONDAY = (2030, 6, 3)  # a Monday; the calendar table is empty in tests


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def make_room(make, *, building: Place | None = None, **overrides) -> Room:
    n = next(_seq)
    if building is None:
        building = Place(kind="building", name=f"测试楼{n}")
        db.session.add(building)
        db.session.flush()
    floor = Place(kind="floor", name=f"{n}层", parent_id=building.id)
    db.session.add(floor)
    db.session.flush()
    place = Place(kind="room", name=f"{n}会议室", parent_id=floor.id)
    db.session.add(place)
    db.session.flush()
    values = {"name": f"第{n}会议室", "capacity": 12, "equipment": ["projector", "whiteboard"]}
    values.update(overrides)
    room = Room(place_id=place.id, **values)
    db.session.add(room)
    db.session.commit()
    return room


def book(room: Room, user: User, start: datetime, end: datetime, *, status: str = "approved",
         subject: str = "测试会议", booked_by: User | None = None, **values) -> RoomBooking:
    booking = RoomBooking(room_id=room.id, user_id=user.id, booked_by_id=(booked_by or user).id,
                          department_id=user.department_id, subject=subject, attendee_count=values.pop(
                              "attendee_count", 5), start_at=start, end_at=end,
                          blocked_until=rules.blocked_until(room, end), status=status, **values)
    rules.occupy(booking)
    db.session.commit()
    return booking


@pytest.fixture
def room(make) -> Room:
    return make_room(make)


@pytest.fixture
def room_clock(monkeypatch):
    """Fix the time every rooms module reads (rules.clock): room_clock(aware datetime)."""
    def set_clock(moment: datetime) -> None:
        monkeypatch.setattr(rules, "clock", lambda: moment)
    return set_clock
