"""Foreign-id cases for tests/test_ownership.py: rooms routes (search). Rooms are open to every
member of staff, so the id routes are refused to those who are not staff (a contractor, a
visitor): 403. An unknown or disabled room is 404 ROOM_NOT_FOUND for staff (tests/rooms/
test_search_rooms.py)."""

from __future__ import annotations

from tests.rooms.conftest import make_room
from tests.test_ownership import case


@case("GET", "/api/v1/rooms/<int:room_id>")
def _room_get(make):
    room = make_room(make)
    contractor = make.user("technician", company=make.company("property"))
    return make.headers(contractor), f"/api/v1/rooms/{room.id}", None, lambda: None


@case("GET", "/api/v1/rooms/<int:room_id>/day")
def _room_day(make):
    room = make_room(make)
    visitor = make.user(kind="visitor")
    return make.headers(visitor), f"/api/v1/rooms/{room.id}/day?date=2030-06-03", None, lambda: None
