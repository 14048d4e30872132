"""Foreign-id cases for tests/test_ownership.py: canteen routes (booking).

The intruders that matter: another diner, and the staff of ANOTHER canteen (who operate a
canteen, just not this one)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.auth import Principal
from app.extensions import db
from blueprints.canteen import booking as service
from models.canteen import BookingPenalty, MealBooking
from tests.canteen.conftest import build_kitchen
from tests.test_ownership import case

# Booked long ahead of the meal (services take `now`), so the refusals below are about the
# caller, not the clock.
_BOOKED_AT = datetime(2030, 6, 1, 2, tzinfo=UTC)
_DAY = date(2030, 6, 5)  # a Wednesday


def _booking(make) -> MealBooking:
    kitchen = build_kitchen(make)
    owner = make.user()
    booking = service.book(Principal.for_user(owner), kitchen.lunch.id, _DAY, now=_BOOKED_AT)
    db.session.commit()
    return booking


def _unchanged(booking_id: int):
    def check():
        db.session.expire_all()
        assert db.session.get(MealBooking, booking_id).status == "booked"
    return check


@case("GET", "/api/v1/canteen/bookings/<int:booking_id>")
def _booking_get(make):
    booking = _booking(make)
    other = build_kitchen(make, name="另一食堂")
    return make.headers(other.worker), f"/api/v1/canteen/bookings/{booking.id}", None, _unchanged(booking.id)


@case("POST", "/api/v1/canteen/bookings/<int:booking_id>/cancel")
def _booking_cancel(make):
    booking = _booking(make)
    return (make.headers(make.user()), f"/api/v1/canteen/bookings/{booking.id}/cancel", {"note": "x"},
            _unchanged(booking.id))


@case("GET", "/api/v1/canteen/bookings/<int:booking_id>/pass")
def _booking_pass(make):
    booking = _booking(make)
    return make.headers(make.user()), f"/api/v1/canteen/bookings/{booking.id}/pass", None, _unchanged(booking.id)


@case("POST", "/api/v1/canteen/penalties/<int:penalty_id>/lift")
def _penalty_lift(make):
    booking = _booking(make)
    penalty = BookingPenalty(user_id=booking.user_id, kind="suspension", reason="测试", no_shows=3,
                             trigger_booking_id=booking.id, starts_on=_DAY, ends_on=_DAY)
    db.session.add(penalty)
    db.session.commit()
    penalty_id, owner_id = penalty.id, booking.user_id

    def check():
        db.session.expire_all()
        assert db.session.get(BookingPenalty, penalty_id).lifted_at is None

    from models import User
    owner = db.session.get(User, owner_id)  # the penalised person may not lift it
    return make.headers(owner), f"/api/v1/canteen/penalties/{penalty_id}/lift", {}, check
