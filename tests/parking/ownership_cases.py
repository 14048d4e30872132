"""Foreign-id cases for tests/test_ownership.py: parking routes."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from models.parking import ParkingCorrection, Vehicle
from tests.test_ownership import case


@case("DELETE", "/api/v1/parking/vehicles/<int:vehicle_id>")
def _vehicle_delete(make):
    owner = make.user()
    vehicle = Vehicle(user_id=owner.id, plate="京A12345", plate_kind="ordinary")
    db.session.add(vehicle)
    db.session.commit()

    def check():
        assert db.session.get(Vehicle, vehicle.id).is_active
    return make.headers(make.user()), f"/api/v1/parking/vehicles/{vehicle.id}", None, check


def _lot_and_check():
    from tests.parking.test_gate import make_gate

    gate = make_gate(None)
    lot_id = gate.lot.id

    def check():
        assert db.session.execute(select(ParkingCorrection).where(ParkingCorrection.lot_id == lot_id)).first() is None
    return lot_id, check


@case("GET", "/api/v1/parking/lots/<int:lot_id>")
def _lot_get(make):
    lot_id, check = _lot_and_check()
    return make.headers(make.user(kind="visitor")), f"/api/v1/parking/lots/{lot_id}", None, check


@case("POST", "/api/v1/parking/lots/<int:lot_id>/occupancy")
def _lot_correct(make):
    lot_id, check = _lot_and_check()
    return make.headers(make.user()), f"/api/v1/parking/lots/{lot_id}/occupancy", \
        {"occupied": 3, "reason": "清点"}, check


@case("GET", "/api/v1/parking/lots/<int:lot_id>/usage")
def _lot_usage(make):
    lot_id, check = _lot_and_check()
    return make.headers(make.user()), f"/api/v1/parking/lots/{lot_id}/usage?date_from=2030-06-03&date_to=2030-06-03", \
        None, check


def _reservation(make):
    from datetime import date, datetime

    from app.timeutil import SHANGHAI
    from models.parking import ParkingReservation
    from tests.parking.test_gate import make_gate

    gate = make_gate(None, mode="reservation")
    owner = make.user()
    row = ParkingReservation(lot_id=gate.lot.id, user_id=owner.id, plate="京A12345", kind="staff",
                             day=date(2030, 6, 4), period="day", starts_at=datetime(2030, 6, 4, 7, tzinfo=SHANGHAI),
                             ends_at=datetime(2030, 6, 4, 20, tzinfo=SHANGHAI), status="reserved")
    db.session.add(row)
    db.session.commit()

    def check():
        db.session.expire_all()
        assert db.session.get(ParkingReservation, row.id).status == "reserved"
    return row.id, check


@case("GET", "/api/v1/parking/reservations/<int:reservation_id>")
def _reservation_get(make):
    rid, check = _reservation(make)
    return make.headers(make.user()), f"/api/v1/parking/reservations/{rid}", None, check


@case("POST", "/api/v1/parking/reservations/<int:reservation_id>/cancel")
def _reservation_cancel(make):
    rid, check = _reservation(make)
    return make.headers(make.user()), f"/api/v1/parking/reservations/{rid}/cancel", None, check


@case("GET", "/api/v1/parking/reservations/<int:reservation_id>/draw")
def _reservation_draw(make):
    rid, check = _reservation(make)
    return make.headers(make.user()), f"/api/v1/parking/reservations/{rid}/draw", None, check
