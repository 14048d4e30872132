"""Staff vehicles (员工车辆): a member of staff registers up to PARKING_MAX_VEHICLES plates; a
plate belongs to one active owner (the partial unique index `uq_vehicle_active_plate`:
two people registering one plate at once get one success). Each registration and removal
writes the whitelist change log (`WhitelistChange`, every lot), which gates sync from.
Disabling a user removes their vehicles in the same transaction."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.auth import Principal, ensure_visible
from app.errors import AppError, register_codes
from app.extensions import db, get_row, violated_constraint
from app.locks import lock_key
from app.signals import user_disabled
from app.timeutil import utcnow
from blueprints.parking.plates import normalise_plate
from models.parking import Vehicle, WhitelistChange

register_codes({
    "PARKING_VEHICLE_LIMIT": (409, "登记车辆已达上限", "Vehicles: the person already has PARKING_MAX_VEHICLES "
                                                 "active vehicles (`details.max_vehicles`)."),
    "PARKING_PLATE_TAKEN": (409, "该车牌已被登记", "Vehicles: the plate is an active vehicle already (the caller's "
                                            "own when `details.mine` is true)."),
})


def _whitelist(vehicle: Vehicle, action: str) -> None:
    db.session.add(WhitelistChange(lot_id=None, plate=vehicle.plate, action=action, source=f"vehicle:{vehicle.id}"))


def add_vehicle(actor: Principal, data: dict, max_vehicles: int) -> Vehicle:
    """Register a plate for the caller; 422 PARKING_PLATE_INVALID, 409 PARKING_VEHICLE_LIMIT /
    PARKING_PLATE_TAKEN. The caller commits."""
    plate, kind = normalise_plate(data["plate"])
    # One person's registrations one at a time, so two at once cannot pass the limit together.
    db.session.execute(select(func.pg_advisory_xact_lock(lock_key(f"parking-vehicles:{actor.user_id}"))))
    mine = db.session.execute(select(Vehicle.plate).where(Vehicle.user_id == actor.user_id,
                                                          Vehicle.is_active)).scalars().all()
    if plate in mine:
        raise AppError("PARKING_PLATE_TAKEN", "您已登记过该车牌", details={"mine": True})
    if len(mine) >= max_vehicles:
        raise AppError("PARKING_VEHICLE_LIMIT", f"每人最多登记 {max_vehicles} 辆车",
                       details={"max_vehicles": max_vehicles})
    vehicle = Vehicle(user_id=actor.user_id, plate=plate, plate_kind=kind, is_ev=data.get("is_ev", False),
                      needs_accessible=data.get("needs_accessible", False))
    try:
        with db.session.begin_nested():
            db.session.add(vehicle)
    except IntegrityError as exc:
        if violated_constraint(exc) != "uq_vehicle_active_plate":
            raise
        raise AppError("PARKING_PLATE_TAKEN", "该车牌已由他人登记，如有疑问请联系管理员",
                       details={"mine": False}) from None
    _whitelist(vehicle, "allow")
    return vehicle


def list_vehicles(actor: Principal, user_id: int | None = None) -> list[Vehicle]:
    """The caller's active vehicles (administrators and auditors: anyone's, by `user_id`)."""
    owner = user_id if user_id is not None and actor.reads_everything else actor.user_id
    return list(db.session.execute(select(Vehicle).where(Vehicle.user_id == owner, Vehicle.is_active)
                                   .order_by(Vehicle.id)).scalars())


def _remove(vehicle: Vehicle) -> None:
    vehicle.is_active, vehicle.removed_at = False, utcnow()
    _whitelist(vehicle, "revoke")


def remove_vehicle(actor: Principal, vehicle_id: int) -> Vehicle:
    """Remove the owner's (or, for an administrator, anyone's) active vehicle; 404 otherwise."""
    vehicle = get_row(Vehicle, vehicle_id)
    ensure_visible(vehicle is not None and vehicle.is_active and (vehicle.user_id == actor.user_id or actor.is_admin))
    _remove(vehicle)
    return vehicle


@user_disabled.connect
def _on_user_disabled(user, **_):
    for vehicle in db.session.execute(select(Vehicle).where(Vehicle.user_id == user.id, Vehicle.is_active)).scalars():
        _remove(vehicle)
