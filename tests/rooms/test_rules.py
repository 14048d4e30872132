"""The contract pieces every rooms part builds on: the exclusion constraint, occupy's
conflict answer, the time rules across midnight."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import text

from app.errors import AppError
from app.extensions import db
from blueprints.rooms import rules
from tests.rooms.conftest import at, book, make_room


def test_overlap_is_a_conflict_naming_times_only(app, make, room):
    owner, other = make.user(), make.user()
    book(room, owner, at(2030, 6, 3, 9), at(2030, 6, 3, 10), subject="机密议题")
    with pytest.raises(AppError) as err:
        book(room, other, at(2030, 6, 3, 9, 30), at(2030, 6, 3, 11))
    assert err.value.code == "ROOM_TIME_CONFLICT"
    assert err.value.details["conflicts"][0]["start_at"].startswith("2030-06-03T09:00:00+08:00")
    assert set(err.value.details["conflicts"][0]) == {"start_at", "end_at", "blocked_until"}
    assert "机密议题" not in str(err.value.details)
    db.session.rollback()
    # back to back is fine without a buffer, and a cancelled booking does not hold the room
    book(room, other, at(2030, 6, 3, 10), at(2030, 6, 3, 11))
    book(room, other, at(2030, 6, 3, 12), at(2030, 6, 3, 13), status="cancelled")
    book(room, owner, at(2030, 6, 3, 12), at(2030, 6, 3, 13))


def test_buffer_keeps_meetings_apart_on_both_sides(app, make):
    room = make_room(make, buffer_minutes=15)
    user = make.user()
    book(room, user, at(2030, 6, 3, 9), at(2030, 6, 3, 10))
    for start, end in ((at(2030, 6, 3, 10, 10), at(2030, 6, 3, 11)), (at(2030, 6, 3, 8), at(2030, 6, 3, 8, 50))):
        with pytest.raises(AppError) as err:
            book(room, user, start, end)
        assert err.value.code == "ROOM_TIME_CONFLICT"
        db.session.rollback()
    book(room, user, at(2030, 6, 3, 10, 15), at(2030, 6, 3, 11))


def test_the_database_refuses_an_overlap_written_around_the_service(app, make, room):
    user = make.user()
    book(room, user, at(2030, 6, 3, 9), at(2030, 6, 3, 10))
    with pytest.raises(Exception) as err:
        db.session.execute(text(
            "INSERT INTO room_booking (room_id, user_id, booked_by_id, subject, attendee_count, start_at, end_at,"
            " blocked_until, status) VALUES (:r, :u, :u, 'x', 1, :s, :e, :e, 'pending')"),
            {"r": room.id, "u": user.id, "s": at(2030, 6, 3, 9, 59), "e": at(2030, 6, 3, 10, 30)})
        db.session.flush()
    assert "ex_room_booking_no_overlap" in str(err.value)
    db.session.rollback()


def test_time_rules(app, make):
    room = make_room(make)
    now = at(2030, 6, 3, 8)
    rules.check_times(room, at(2030, 6, 3, 9), at(2030, 6, 3, 10), now)
    cases = [
        ((at(2030, 6, 3, 10), at(2030, 6, 3, 9)), "ROOM_RANGE_INVALID"),
        ((at(2030, 6, 3, 7), at(2030, 6, 3, 9)), "ROOM_IN_PAST"),
        ((at(2030, 6, 3, 9), at(2030, 6, 3, 9, 10)), "ROOM_TOO_SHORT"),
        ((at(2030, 6, 3, 9), at(2030, 6, 3, 18, 30)), "ROOM_TOO_LONG"),
        ((at(2030, 6, 3, 20), at(2030, 6, 3, 22)), "ROOM_OUTSIDE_HOURS"),
        ((at(2030, 6, 8, 9), at(2030, 6, 8, 10)), "ROOM_NOT_OPEN_DAY"),  # a Saturday
        ((at(2030, 8, 1, 9), at(2030, 8, 1, 10)), "ROOM_TOO_FAR_AHEAD"),
    ]
    for (start, end), code in cases:
        with pytest.raises(AppError) as err:
            rules.check_times(room, start, end, now)
        assert err.value.code == code, (start, end)


def test_a_room_open_past_midnight_takes_a_booking_across_it(app, make):
    room = make_room(make, opens_at=time(18, 0), closes_at=time(2, 0), open_days="every_day")
    now = at(2030, 6, 3, 8)
    rules.check_times(room, at(2030, 6, 3, 23), at(2030, 6, 4, 1), now)
    with pytest.raises(AppError) as err:
        rules.check_times(room, at(2030, 6, 4, 1), at(2030, 6, 4, 3), now)
    assert err.value.code == "ROOM_OUTSIDE_HOURS"
    user = make.user()
    book(room, user, at(2030, 6, 3, 23), at(2030, 6, 4, 1))
    with pytest.raises(AppError):
        book(room, user, at(2030, 6, 4, 0, 30), at(2030, 6, 4, 1, 30))
