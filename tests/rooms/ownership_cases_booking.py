"""Foreign-id cases for tests/test_ownership.py: rooms routes (booking).

The intruders that matter: another member of staff (not organiser, booker or attendee), and
an approver of ANOTHER room."""

from __future__ import annotations

from app.extensions import db
from models.rooms import RoomBooking, RoomDelegation, RoomSeries
from tests.rooms.conftest import at, book, make_room
from tests.test_ownership import case


def foreign_booking(make, status: str = "approved", **room_values) -> RoomBooking:
    """A booking in 2030 of a room of its own (shared by the rooms case modules)."""
    room = make_room(make, **room_values)
    return book(room, make.user(), at(2030, 6, 3, 9), at(2030, 6, 3, 10), status=status)


def unchanged(booking_id: int, status: str = "approved"):
    def check():
        db.session.expire_all()
        booking = db.session.get(RoomBooking, booking_id)
        assert booking.status == status and booking.subject == "测试会议"
    return check


@case("GET", "/api/v1/rooms/bookings/<int:booking_id>")
def _get(make):
    booking = foreign_booking(make)
    return make.headers(make.user()), f"/api/v1/rooms/bookings/{booking.id}", None, unchanged(booking.id)


@case("PATCH", "/api/v1/rooms/bookings/<int:booking_id>")
def _patch(make):
    booking = foreign_booking(make)
    return (make.headers(make.user()), f"/api/v1/rooms/bookings/{booking.id}", {"subject": "改"},
            unchanged(booking.id))


@case("POST", "/api/v1/rooms/bookings/<int:booking_id>/cancel")
def _cancel(make):
    booking = foreign_booking(make)
    return make.headers(make.user()), f"/api/v1/rooms/bookings/{booking.id}/cancel", {}, unchanged(booking.id)


def _other_rooms_approver(make, booking):
    return make.user("room_approver", scope=("room", booking.room_id + 1000))


@case("POST", "/api/v1/rooms/bookings/<int:booking_id>/approve")
def _approve(make):
    booking = foreign_booking(make, status="pending", approval="room")
    return (make.headers(_other_rooms_approver(make, booking)), f"/api/v1/rooms/bookings/{booking.id}/approve",
            None, unchanged(booking.id, "pending"))


@case("POST", "/api/v1/rooms/bookings/<int:booking_id>/reject")
def _reject(make):
    booking = foreign_booking(make, status="pending", approval="room")
    return (make.headers(_other_rooms_approver(make, booking)), f"/api/v1/rooms/bookings/{booking.id}/reject",
            {"reason": "不行"}, unchanged(booking.id, "pending"))


def _series(make) -> RoomSeries:
    booking = foreign_booking(make)
    series = RoomSeries(room_id=booking.room_id, user_id=booking.user_id, booked_by_id=booking.user_id,
                        frequency="daily", count=1, first_start=booking.start_at, minutes=60)
    db.session.add(series)
    db.session.flush()
    booking.series_id = series.id
    db.session.commit()
    return series


def _series_unchanged(series_id: int):
    def check():
        db.session.expire_all()
        assert db.session.get(RoomSeries, series_id).cancelled_at is None
        assert {b.status for b in db.session.query(RoomBooking).filter_by(series_id=series_id)} == {"approved"}
    return check


@case("GET", "/api/v1/rooms/series/<int:series_id>")
def _series_get(make):
    series = _series(make)
    return make.headers(make.user()), f"/api/v1/rooms/series/{series.id}", None, _series_unchanged(series.id)


@case("PATCH", "/api/v1/rooms/series/<int:series_id>")
def _series_patch(make):
    series = _series(make)
    return (make.headers(make.user()), f"/api/v1/rooms/series/{series.id}", {"subject": "改"},
            _series_unchanged(series.id))


@case("POST", "/api/v1/rooms/series/<int:series_id>/cancel")
def _series_cancel(make):
    series = _series(make)
    return make.headers(make.user()), f"/api/v1/rooms/series/{series.id}/cancel", {}, _series_unchanged(series.id)


@case("POST", "/api/v1/rooms/delegations/<int:delegation_id>/revoke")
def _revoke(make):
    leader, secretary = make.user(), make.user()
    delegation = RoomDelegation(leader_id=leader.id, secretary_id=secretary.id)
    db.session.add(delegation)
    db.session.commit()
    delegation_id = delegation.id

    def check():
        db.session.expire_all()
        assert db.session.get(RoomDelegation, delegation_id).revoked_at is None
    # the secretary may not revoke the leader's grant
    return make.headers(secretary), f"/api/v1/rooms/delegations/{delegation_id}/revoke", None, check
