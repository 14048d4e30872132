"""Visitor parking tied to visits: a visit with a plate holds a visitor space for its window
from the moment it is approved, and gives it back when it is cancelled, rejected or expires.

`order_transitioned` (app/lifecycle.py) drives it, inside the visit's own transaction: a
visit of an application with a plate entering `approved` takes a space in the first active
lot (by id) whose visitor spaces are not all held during the window — counted under the
lot's row lock, so concurrent approvals never hold more than `visitor_capacity` at once
(every held reservation overlapping the window counts, a safe upper bound); when no lot has
room the host is told (the visit stays approved, without parking). A visit entering a
revoked state revokes its reservation at once (and the whitelist entry with it).
`availability(start, end)` lets the host see before approving whether a space is left.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from app.extensions import db
from app.lifecycle import SYSTEM, order_transitioned
from app.notify import notify, register_templates
from app.timeutil import local
from blueprints.parking.reservations import assign_space
from blueprints.parking.rules import PARKING
from blueprints.visitors.rules import REVOKED_STATES, VISIT
from models.parking import HOLDING_STATES, LIVE_RESERVATION_STATES, ParkingLot, ParkingReservation, WhitelistChange
from models.visitors import Visit

register_templates({
    # Context: plate, when, application_id.
    "visit_parking_full": {
        "template_id": "", "title": "访客车位已满",
        "body": "您的访客（车牌 {plate}）{when} 来访，访客车位已满，未能预留车位，请提醒访客另行停车。",
        "page": "pages/visitors/detail?id={application_id}",
        "fields": {"thing1": "{plate}", "time2": "{when}"},
        "long_term": False,
    },
})


def _held(lot_id: int, start: datetime, end: datetime) -> int:
    return db.session.execute(select(func.count()).select_from(ParkingReservation).where(
        ParkingReservation.lot_id == lot_id, ParkingReservation.kind == "visitor",
        ParkingReservation.status.in_(HOLDING_STATES), ParkingReservation.starts_at < end,
        ParkingReservation.ends_at > start)).scalar()


def _visitor_lots(lock: bool):
    stmt = select(ParkingLot).where(ParkingLot.is_active, ParkingLot.visitor_capacity > 0).order_by(ParkingLot.id)
    return db.session.execute(stmt.with_for_update() if lock else stmt).scalars().all()


def availability(start: datetime, end: datetime) -> list[dict]:
    """Per lot with visitor spaces: how many are free for the whole of [start, end)."""
    return [{"lot": lot, "capacity": lot.visitor_capacity,
             "free": max(lot.visitor_capacity - _held(lot.id, start, end), 0)} for lot in _visitor_lots(lock=False)]


def reserve_for_visit(visit: Visit) -> ParkingReservation | None:
    """A visitor space for the visit's window, or None (no lot has room: the host is told;
    no lot takes visitors at all: nothing happens)."""
    application = visit.application
    existing = db.session.execute(select(ParkingReservation).where(
        ParkingReservation.visit_id == visit.id, ParkingReservation.status.in_(LIVE_RESERVATION_STATES))).scalar()
    if existing is not None:
        return existing
    candidates = _visitor_lots(lock=True)
    if not candidates:  # no lot takes visitors: nothing to hold, nobody to warn
        return None
    for lot in candidates:
        if _held(lot.id, visit.starts_at, visit.ends_at) < lot.visitor_capacity:
            reservation = ParkingReservation(
                lot_id=lot.id, visit_id=visit.id, plate=application.plate, kind="visitor",
                day=local(visit.starts_at).date(), period="day", starts_at=visit.starts_at, ends_at=visit.ends_at,
                status="reserved")
            db.session.add(reservation)
            PARKING.record_creation(reservation, SYSTEM, note=f"访客预约 #{visit.id}")
            assign_space(reservation)
            db.session.add(WhitelistChange(lot_id=lot.id, plate=reservation.plate, action="allow",
                                           valid_from=visit.starts_at, valid_until=visit.ends_at,
                                           source=f"reservation:{reservation.id}"))
            return reservation
    notify(visit.host_id, "visit_parking_full", {
        "plate": application.plate, "application_id": application.id,
        "when": f"{local(visit.starts_at):%m月%d日 %H:%M}"})
    return None


def revoke_for_visit(visit: Visit) -> None:
    for reservation in db.session.execute(select(ParkingReservation).where(
            ParkingReservation.visit_id == visit.id,
            ParkingReservation.status.in_(("applied", "reserved", "waitlisted")))).scalars().all():
        PARKING.transition(reservation, "revoke", SYSTEM, note=f"访客预约 #{visit.id} 已{VISIT.label(visit.status)}")
        db.session.add(WhitelistChange(lot_id=reservation.lot_id, plate=reservation.plate, action="revoke",
                                       source=f"reservation:{reservation.id}"))


@order_transitioned.connect_via(VISIT)
def _on_visit(sender, order, transition, from_state, actor, **_):
    if transition.target == "approved" and order.application.plate:
        reserve_for_visit(order)
    elif transition.target in REVOKED_STATES:
        revoke_for_visit(order)
