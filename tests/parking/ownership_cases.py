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
