"""Foreign-id cases for tests/test_ownership.py: rooms routes (check-in loop, waitlist, ics)."""

from __future__ import annotations

from app.auth import Principal
from app.extensions import db
from blueprints.places.service import place_scene
from blueprints.rooms import ics
from models.rooms import Room, RoomSuspension, RoomWaitlist
from tests.rooms.ownership_cases_booking import foreign_booking, unchanged
from tests.test_ownership import case


@case("POST", "/api/v1/rooms/bookings/<int:booking_id>/check-in")
def _check_in(make):
    booking = foreign_booking(make)
    scene = place_scene(db.session.get(Room, booking.room_id).place)
    return (make.headers(make.user()), f"/api/v1/rooms/bookings/{booking.id}/check-in", {"scene": scene},
            unchanged(booking.id))


@case("POST", "/api/v1/rooms/bookings/<int:booking_id>/finish")
def _finish(make):
    booking = foreign_booking(make, status="checked_in")
    return make.headers(make.user()), f"/api/v1/rooms/bookings/{booking.id}/finish", None, unchanged(
        booking.id, "checked_in")


@case("GET", "/api/v1/rooms/bookings/<int:booking_id>/ics")
def _ics(make):
    booking = foreign_booking(make)
    return make.headers(make.user()), f"/api/v1/rooms/bookings/{booking.id}/ics", None, unchanged(booking.id)


@case("POST", "/api/v1/rooms/suspensions/<int:suspension_id>/lift")
def _lift(make):
    booking = foreign_booking(make, status="no_show")
    suspension = RoomSuspension(user_id=booking.user_id, starts_at=booking.start_at, ends_at=booking.end_at,
                                reason="测试", no_shows=3, booking_id=booking.id)
    db.session.add(suspension)
    db.session.commit()
    suspension_id = suspension.id

    def check():
        db.session.expire_all()
        assert db.session.get(RoomSuspension, suspension_id).lifted_at is None
    # the suspended person may not lift it
    return make.headers(booking.organiser), f"/api/v1/rooms/suspensions/{suspension_id}/lift", {"reason": "x"}, check


def _entry(make, status="offered") -> RoomWaitlist:
    booking = foreign_booking(make)
    entry = RoomWaitlist(room_id=booking.room_id, user_id=make.user().id, start_at=booking.start_at,
                         end_at=booking.end_at, subject="候补", attendee_count=2, status=status,
                         offer_expires_at=booking.start_at)
    db.session.add(entry)
    db.session.commit()
    return entry


def _entry_unchanged(entry_id: int, status: str):
    def check():
        db.session.expire_all()
        assert db.session.get(RoomWaitlist, entry_id).status == status
    return check


@case("POST", "/api/v1/rooms/waitlist/<int:entry_id>/cancel")
def _leave(make):
    entry = _entry(make, "waiting")
    return (make.headers(make.user()), f"/api/v1/rooms/waitlist/{entry.id}/cancel", None,
            _entry_unchanged(entry.id, "waiting"))


@case("POST", "/api/v1/rooms/waitlist/<int:entry_id>/accept")
def _accept(make):
    entry = _entry(make)
    return (make.headers(make.user()), f"/api/v1/rooms/waitlist/{entry.id}/accept", None,
            _entry_unchanged(entry.id, "offered"))


@case("GET", "/api/v1/rooms/feed/<string:token>.ics")
def _feed(make):
    """No sign-in: the secret is the key, and another user's token is simply their feed. What
    must hold: a revoked token reads nothing, whoever asks."""
    owner = make.user()
    _, token = ics.create_feed(Principal.for_user(owner), include_subjects=True)
    ics.revoke_feed(Principal.for_user(owner))
    db.session.commit()

    def check():
        db.session.expire_all()
        assert ics.live_feed(owner.id) is None
    return make.headers(make.user()), f"/api/v1/rooms/feed/{token}.ics", None, check
