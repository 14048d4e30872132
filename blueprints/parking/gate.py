"""The gate API's decisions: entry and exit events by plate, live occupancy, and the
whitelist a gate syncs to keep deciding while the network is down.

An entry (`in`) opens for, in this order:
- a reservation of the plate for this lot that holds a space now (`reserved` or already
  `entered`, from its start minus PARKING_GATE_EARLY_MINUTES to its end): a visit's
  (`visitor_reservation`) or a staff member's (`reservation`); it becomes `entered`;
- an active staff vehicle in an `open` lot while the lot is not full (`staff_vehicle`);
and refuses `lot_full`, `no_reservation` (a staff vehicle at a `reservation` lot without
one) or `unknown_plate`. An exit (`out`) always opens (`exit`) and completes the plate's
entered reservation here. Every opened event moves the lot's occupancy (never below zero).

Events are idempotent per gate and event id: a resend gets the stored decision and moves
nothing again. Events a gate buffered while offline come with `offline: true` and the
decision the gate made from its synced whitelist; they are recorded as decided, late and
in any order, and move occupancy and reservations the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from app.extensions import db, violated_constraint
from app.lifecycle import SYSTEM
from blueprints.parking.plates import normalise_plate
from blueprints.parking.rules import PARKING
from models.parking import (
    GateEvent,
    GateKey,
    LotOccupancy,
    ParkingLot,
    ParkingReservation,
    Vehicle,
    WhitelistChange,
)


def _capacity(lot: ParkingLot) -> int:
    return lot.staff_capacity + lot.visitor_capacity + lot.ev_capacity + lot.accessible_capacity


def occupancy(lot_id: int) -> int:
    return db.session.execute(select(LotOccupancy.occupied).where(LotOccupancy.lot_id == lot_id)).scalar() or 0


def _move(lot_id: int, delta: int) -> None:
    """occupied += delta, never below zero (one statement: concurrent events add up)."""
    stmt = insert(LotOccupancy).values(lot_id=lot_id, occupied=max(delta, 0))
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=[LotOccupancy.lot_id],
        set_={"occupied": func.greatest(LotOccupancy.occupied + delta, 0), "updated_at": func.now()}))


def _reservation_now(lot_id: int, plate: str, at: datetime) -> ParkingReservation | None:
    early = timedelta(minutes=current_app.config["PARKING_GATE_EARLY_MINUTES"])
    return db.session.execute(
        select(ParkingReservation).where(
            ParkingReservation.lot_id == lot_id, ParkingReservation.plate == plate,
            ParkingReservation.status.in_(("reserved", "entered")),
            ParkingReservation.starts_at - early <= at, ParkingReservation.ends_at > at)
        .order_by(ParkingReservation.visit_id.is_(None), ParkingReservation.starts_at)).scalars().first()


def decide_entry(lot: ParkingLot, plate: str, at: datetime) -> tuple[bool, str, ParkingReservation | None,
                                                                       Vehicle | None]:
    """(opened, reason, reservation, vehicle) for a car at the lot's entry."""
    reservation = _reservation_now(lot.id, plate, at)
    if reservation is not None:
        return True, ("visitor_reservation" if reservation.visit_id else "reservation"), reservation, None
    vehicle = db.session.execute(select(Vehicle).where(Vehicle.plate == plate, Vehicle.is_active)).scalar()
    if vehicle is None:
        return False, "unknown_plate", None, None
    if lot.mode != "open":
        return False, "no_reservation", None, vehicle
    if occupancy(lot.id) >= _capacity(lot):
        return False, "lot_full", None, vehicle
    return True, "staff_vehicle", None, vehicle


def record_event(gate: GateKey, data: dict) -> tuple[GateEvent, bool]:
    """Decide (or record the offline decision of) one event; (event, created). A resend of
    the same event id returns the stored event with created False. The caller commits."""
    existing = db.session.execute(select(GateEvent).where(GateEvent.gate_key_id == gate.id,
                                                          GateEvent.event_id == data["event_id"])).scalar()
    if existing is not None:
        return existing, False
    plate, _ = normalise_plate(data["plate"])
    lot = gate.lot
    direction, at = data["direction"], data["occurred_at"]
    reservation = vehicle = None
    if data.get("offline"):
        opened = data["opened"]
        reason = "exit" if direction == "out" else ("staff_vehicle" if opened else "unknown_plate")
        if direction == "in" and opened:
            reservation = _reservation_now(lot.id, plate, at)
            if reservation is not None:
                reason = "visitor_reservation" if reservation.visit_id else "reservation"
    elif direction == "out":
        opened, reason = True, "exit"
    else:
        opened, reason, reservation, vehicle = decide_entry(lot, plate, at)
    if direction == "out":
        reservation = db.session.execute(select(ParkingReservation).where(
            ParkingReservation.lot_id == lot.id, ParkingReservation.plate == plate,
            ParkingReservation.status == "entered").order_by(ParkingReservation.entered_at)).scalars().first()
    event = GateEvent(gate_key_id=gate.id, lot_id=lot.id, event_id=data["event_id"], plate=plate,
                      direction=direction, occurred_at=at, offline=bool(data.get("offline")), opened=opened,
                      reason=reason, reservation_id=reservation.id if reservation else None,
                      vehicle_id=vehicle.id if vehicle else None)
    try:
        with db.session.begin_nested():
            db.session.add(event)
    except IntegrityError as exc:  # the same event from two connections at once: the other one stored it
        if violated_constraint(exc) != "uq_gate_event_gate_key_id_event_id":
            raise
        stored = db.session.execute(select(GateEvent).where(GateEvent.gate_key_id == gate.id,
                                                            GateEvent.event_id == data["event_id"])).scalar()
        if stored is None:
            raise
        return stored, False
    if opened:
        _move(lot.id, 1 if direction == "in" else -1)
        if reservation is not None:
            _advance(reservation, direction, at)
    return event, True


def _advance(reservation: ParkingReservation, direction: str, at: datetime) -> None:
    """reserved → entered on entry, entered → completed on exit, when still possible (a late
    event of a reservation that moved on changes nothing)."""
    transition, column = ("enter", "entered_at") if direction == "in" else ("exit", "exited_at")
    source = "reserved" if direction == "in" else "entered"
    if reservation.status == source:
        PARKING.transition(reservation, transition, SYSTEM, values={column: at}, only_from=(source,))


def whitelist_since(lot_id: int, version: int, limit: int) -> dict:
    """The whitelist changes for `lot_id` (and every lot) after `version`: {"version",
    "changes", "more"}; a gate applies them in order and asks again from `version`."""
    rows = db.session.execute(
        select(WhitelistChange).where(WhitelistChange.id > version,
                                      or_(WhitelistChange.lot_id == lot_id, WhitelistChange.lot_id.is_(None)))
        .order_by(WhitelistChange.id).limit(limit + 1)).scalars().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"version": rows[-1].id if rows else version, "changes": rows, "more": more}

