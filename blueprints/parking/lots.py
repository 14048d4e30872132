"""Lots as people see them (capacities, live occupancy, free spaces), usage per lot and
period, guards' occupancy corrections and the nightly reconciliation.

Occupancy moves with every opened gate event (gate.py) and never goes below zero, so a
missed or duplicated event can leave it wrong: a guard corrects it with a reason (a
`ParkingCorrection` row, audited), and the `parking_reconcile` sweep recomputes it each
night from the events since the latest correction (that correction's value, plus opened
entries, minus opened exits, never below zero), recording a correction when it differs.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import case, func, select

from app import audit
from app.auth import Principal
from app.errors import AppError, register_codes
from app.extensions import db, get_row
from app.timeutil import SHANGHAI, utcnow
from blueprints.parking.gate import occupancy
from models.parking import SPACE_KINDS, GateEvent, LotOccupancy, ParkingCorrection, ParkingLot

register_codes({
    "PARKING_PERIOD_INVALID": (422, "统计期间无效：结束日期不能早于开始日期，且最长 366 天",
                               "Parking usage: date_to before date_from, or more than 366 days."),
})

MAX_DAYS = 366
RECONCILE_REASON = "夜间按出入记录对账"


def get_lot(lot_id: int, *, active_only: bool = True) -> ParkingLot:
    lot = get_row(ParkingLot, lot_id)
    if lot is None or (active_only and not lot.is_active):
        raise AppError("PARKING_LOT_NOT_FOUND", details={"lot_id": lot_id})
    return lot


def capacity(lot: ParkingLot) -> int:
    return sum(lot.capacity_of(kind) for kind in SPACE_KINDS)


def lot_view(lot: ParkingLot) -> dict:
    occupied = occupancy(lot.id)
    total = capacity(lot)
    return {"lot": lot, "capacity": total, "occupied": occupied, "free": max(total - occupied, 0),
            "capacities": {kind: lot.capacity_of(kind) for kind in SPACE_KINDS}}


def list_lots() -> list[dict]:
    lots = db.session.execute(select(ParkingLot).where(ParkingLot.is_active).order_by(ParkingLot.id)).scalars()
    return [lot_view(lot) for lot in lots]


def correct(actor: Principal, lot_id: int, occupied: int, reason: str) -> dict:
    """Set a lot's occupancy (a guard counted the cars), recorded with the reason; audited."""
    lot = get_lot(lot_id)
    row = db.session.execute(select(LotOccupancy).where(LotOccupancy.lot_id == lot.id).with_for_update()).scalar()
    if row is None:
        row = LotOccupancy(lot_id=lot.id, occupied=0)
        db.session.add(row)
        db.session.flush()
    before = row.occupied
    _record(lot.id, row, occupied, reason, actor.user_id)
    audit.record("parking.occupancy_corrected", "parking_lot", lot.id, {"before": before, "after": occupied},
                 actor=actor)
    return lot_view(lot)


def _record(lot_id: int, row: LotOccupancy, occupied: int, reason: str, actor_id: int | None) -> None:
    db.session.add(ParkingCorrection(lot_id=lot_id, occupied_before=row.occupied, occupied_after=occupied,
                                     reason=reason, actor_id=actor_id))
    row.occupied, row.updated_at = occupied, utcnow()


def reconcile(now: datetime | None = None) -> int:
    """Recompute every lot's occupancy from its events since its latest correction; returns
    how many lots were corrected. One short transaction per lot (its occupancy row locked)."""
    now = now or utcnow()
    corrected = 0
    for lot_id in db.session.execute(select(ParkingLot.id).order_by(ParkingLot.id)).scalars().all():
        row = db.session.execute(select(LotOccupancy).where(LotOccupancy.lot_id == lot_id).with_for_update()).scalar()
        if row is None:
            row = LotOccupancy(lot_id=lot_id, occupied=0)
            db.session.add(row)
            db.session.flush()
        base = db.session.execute(select(ParkingCorrection).where(ParkingCorrection.lot_id == lot_id)
                                  .order_by(ParkingCorrection.at.desc(), ParkingCorrection.id.desc()).limit(1)).scalar()
        since = base.at if base else datetime.min.replace(tzinfo=SHANGHAI)
        moved = db.session.execute(select(func.coalesce(func.sum(case((GateEvent.direction == "in", 1), else_=-1)), 0))
                                   .where(GateEvent.lot_id == lot_id, GateEvent.opened, GateEvent.occurred_at > since,
                                          GateEvent.occurred_at <= now)).scalar()
        expected = max((base.occupied_after if base else 0) + moved, 0)
        if expected != row.occupied:
            _record(lot_id, row, expected, RECONCILE_REASON, None)
            corrected += 1
        db.session.commit()
    return corrected


def usage(lot_id: int, day_from: date, day_to: date) -> dict:
    """Per local day of the period: opened entries and exits, refused entries by reason,
    distinct plates that came in; with the lot's capacity and its occupancy now."""
    if day_to < day_from or (day_to - day_from).days + 1 > MAX_DAYS:
        raise AppError("PARKING_PERIOD_INVALID", details={"max_days": MAX_DAYS})
    lot = get_lot(lot_id, active_only=False)
    start = datetime.combine(day_from, time(0), SHANGHAI)
    end = datetime.combine(day_to + timedelta(days=1), time(0), SHANGHAI)
    day = func.date(func.timezone("Asia/Shanghai", GateEvent.occurred_at))
    rows = db.session.execute(
        select(day.label("day"),
               func.count().filter(GateEvent.direction == "in", GateEvent.opened).label("entries"),
               func.count().filter(GateEvent.direction == "out", GateEvent.opened).label("exits"),
               func.count().filter(GateEvent.direction == "in", ~GateEvent.opened).label("refused"),
               func.count(func.distinct(GateEvent.plate)).filter(GateEvent.direction == "in", GateEvent.opened)
               .label("vehicles"))
        .where(GateEvent.lot_id == lot.id, GateEvent.occurred_at >= start, GateEvent.occurred_at < end)
        .group_by(day).order_by(day)).all()
    reasons = db.session.execute(
        select(GateEvent.reason, func.count()).where(GateEvent.lot_id == lot.id, GateEvent.occurred_at >= start,
                                                     GateEvent.occurred_at < end, GateEvent.direction == "in")
        .group_by(GateEvent.reason).order_by(GateEvent.reason)).all()
    return {**lot_view(lot), "date_from": day_from, "date_to": day_to,
            "days": [dict(r._mapping) for r in rows], "entry_reasons": {reason: n for reason, n in reasons}}
