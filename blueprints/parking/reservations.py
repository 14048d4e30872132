"""Staff reservations of scarce lots, the daily draw, the waitlist, no-shows.

A `reservation` lot needs a reservation for the day (`day`) or half day (`am`: opening to
`am_ends_at`, `pm`: from then to closing), of a kind (staff, ev for an EV, accessible for a
vehicle that needs it), at most PARKING_ADVANCE_DAYS ahead. Until the lot's draw time on
the day before, applications wait (`applied`); the `parking_draws` sweep then runs one draw
per lot, day and kind (rules.draw, stored as a ParkingDraw every applicant may read) and
grants spaces in drawn order while the asked period has room (a `day` needs both halves):
granted `reserved`, the rest `waitlisted` in drawn order. After the draw, applications are
decided at once (reserved while there is room, else waitlisted). A cancellation promotes the
first waitlisted application that now fits. A reservation not entered by its start plus the
lot's grace is a `no_show` (the `parking_no_shows` sweep) and counts against the person in
later draws, like recent wins.

Where a lot has numbered spaces, a held reservation gets the lowest-numbered free one of its
kind (`assign_space`). Every decision that counts spaces runs under the lot's row lock (SELECT ... FOR UPDATE), so
concurrent applications, cancellations and draws never hold more spaces than the lot has.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.auth import Principal, ensure_visible
from app.errors import AppError, register_codes
from app.extensions import db, get_row
from app.lifecycle import SYSTEM
from app.timeutil import SHANGHAI, local, utcnow
from blueprints.parking.rules import DRAW_ALGORITHM, PARKING, Applicant, draw
from models.parking import (
    HOLDING_STATES,
    LIVE_RESERVATION_STATES,
    ParkingDraw,
    ParkingLot,
    ParkingReservation,
    ParkingSpace,
    Vehicle,
    WhitelistChange,
)

register_codes({
    "PARKING_NOT_RESERVABLE": (422, "该停车场无需预约（登记车辆即可通行）",
                               "Reservations: the lot is an open lot (whitelisted plates enter)."),
    "PARKING_DAY_INVALID": (422, "预约日期无效", "Reservations: the day is past, today after the draw of the day "
                                           "before closed nothing, or beyond PARKING_ADVANCE_DAYS (`details`)."),
    "PARKING_KIND_NOT_ALLOWED": (422, "该车辆不能预约此类车位",
                                 "Reservations: an ev space for a vehicle that is not an EV, an accessible space for "
                                 "a vehicle not registered as needing one, or a visitor space (`details.kind`)."),
    "PARKING_RESERVATION_EXISTS": (409, "您在该时段已有预约", "Reservations: the person already has a live "
                                                       "reservation overlapping this day and period."),
})

STAFF_KINDS = ("staff", "ev", "accessible")
HALVES = {"day": ("am", "pm"), "am": ("am",), "pm": ("pm",)}


def clock() -> datetime:
    """Now; the one place reservations read the time (tests fix it)."""
    return utcnow()


def window(lot: ParkingLot, day: date, period: str) -> tuple[datetime, datetime]:
    start = {"day": lot.opens_at, "am": lot.opens_at, "pm": lot.am_ends_at}[period]
    end = {"day": lot.closes_at, "am": lot.am_ends_at, "pm": lot.closes_at}[period]
    return datetime.combine(day, start, SHANGHAI), datetime.combine(day, end, SHANGHAI)


def draw_time(lot: ParkingLot, day: date) -> datetime:
    return datetime.combine(day - timedelta(days=1), lot.draw_at, SHANGHAI)


def _lock(lot_id: int) -> ParkingLot:
    lot = db.session.execute(select(ParkingLot).where(ParkingLot.id == lot_id).with_for_update()).scalar()
    if lot is None or not lot.is_active:
        raise AppError("PARKING_LOT_NOT_FOUND", details={"lot_id": lot_id})
    return lot


def _holding(lot_id: int, day: date, kind: str) -> dict[str, int]:
    """Spaces of a kind held per half day (a `day` reservation holds both halves)."""
    held = {"am": 0, "pm": 0}
    for period, n in db.session.execute(
            select(ParkingReservation.period, func.count()).where(
                ParkingReservation.lot_id == lot_id, ParkingReservation.day == day, ParkingReservation.kind == kind,
                ParkingReservation.status.in_(HOLDING_STATES)).group_by(ParkingReservation.period)):
        for half in HALVES[period]:
            held[half] += n
    return held


def _fits(lot: ParkingLot, held: dict[str, int], kind: str, period: str) -> bool:
    return all(held[half] < lot.capacity_of(kind) for half in HALVES[period])


def assign_space(reservation: ParkingReservation) -> None:
    """The lowest-numbered active space of the lot and kind that no other held reservation
    overlapping this one's window has (lots without numbered spaces: none). The lot is locked."""
    taken = select(ParkingReservation.space_id).where(
        ParkingReservation.lot_id == reservation.lot_id, ParkingReservation.space_id.is_not(None),
        ParkingReservation.status.in_(HOLDING_STATES), ParkingReservation.id != reservation.id,
        ParkingReservation.starts_at < reservation.ends_at, ParkingReservation.ends_at > reservation.starts_at)
    reservation.space_id = db.session.execute(select(ParkingSpace.id).where(
        ParkingSpace.lot_id == reservation.lot_id, ParkingSpace.kind == reservation.kind, ParkingSpace.is_active,
        ParkingSpace.id.not_in(taken)).order_by(ParkingSpace.number).limit(1)).scalar()


def _reserve(reservation: ParkingReservation, transition: str, **values) -> None:
    PARKING.transition(reservation, transition, SYSTEM, values=values)
    db.session.refresh(reservation)
    assign_space(reservation)
    db.session.add(WhitelistChange(lot_id=reservation.lot_id, plate=reservation.plate, action="allow",
                                   valid_from=reservation.starts_at, valid_until=reservation.ends_at,
                                   source=f"reservation:{reservation.id}"))


def _release_whitelist(reservation: ParkingReservation) -> None:
    db.session.add(WhitelistChange(lot_id=reservation.lot_id, plate=reservation.plate, action="revoke",
                                   source=f"reservation:{reservation.id}"))


def apply(actor: Principal, data: dict, now: datetime | None = None) -> ParkingReservation:
    """A staff member's application (see the module); the caller commits."""
    now = now or clock()
    day, period, kind = data["day"], data["period"], data["kind"]
    vehicle = get_row(Vehicle, data["vehicle_id"])
    ensure_visible(vehicle is not None and vehicle.is_active and vehicle.user_id == actor.user_id)
    if kind not in STAFF_KINDS or (kind == "ev" and not vehicle.is_ev) or \
            (kind == "accessible" and not vehicle.needs_accessible):
        raise AppError("PARKING_KIND_NOT_ALLOWED", details={"kind": kind})
    lot = _lock(data["lot_id"])
    if lot.mode != "reservation":
        raise AppError("PARKING_NOT_RESERVABLE")
    today, ahead = local(now).date(), current_app.config["PARKING_ADVANCE_DAYS"]
    start, end = window(lot, day, period)
    if end <= now or day > today + timedelta(days=ahead):
        raise AppError("PARKING_DAY_INVALID", details={"day": day.isoformat(), "max_days_ahead": ahead})
    mine = db.session.execute(select(ParkingReservation.period).where(
        ParkingReservation.user_id == actor.user_id, ParkingReservation.lot_id == lot.id,
        ParkingReservation.day == day, ParkingReservation.visit_id.is_(None),
        ParkingReservation.status.in_(LIVE_RESERVATION_STATES))).scalars().all()
    if any(set(HALVES[p]) & set(HALVES[period]) for p in mine):
        raise AppError("PARKING_RESERVATION_EXISTS")
    reservation = ParkingReservation(lot_id=lot.id, user_id=actor.user_id, vehicle_id=vehicle.id, plate=vehicle.plate,
                                     kind=kind, day=day, period=period, starts_at=start, ends_at=end, status="applied")
    db.session.add(reservation)
    PARKING.record_creation(reservation, actor)
    if now >= draw_time(lot, day):  # the draw is over: first come, first served
        if _fits(lot, _holding(lot.id, day, kind), kind, period):
            _reserve(reservation, "win")
        else:
            rank = db.session.execute(select(func.coalesce(func.max(ParkingReservation.waitlist_rank), 0)).where(
                ParkingReservation.lot_id == lot.id, ParkingReservation.day == day,
                ParkingReservation.kind == kind)).scalar() + 1
            PARKING.transition(reservation, "waitlist", SYSTEM, values={"waitlist_rank": rank})
    return reservation


def get_reservation(actor: Principal, reservation_id: int) -> ParkingReservation:
    reservation = get_row(ParkingReservation, reservation_id)
    ensure_visible(reservation is not None and (reservation.user_id == actor.user_id or actor.reads_everything))
    return reservation


def my_reservations(actor: Principal) -> list[ParkingReservation]:
    return list(db.session.execute(select(ParkingReservation).where(
        ParkingReservation.user_id == actor.user_id, ParkingReservation.visit_id.is_(None))
        .order_by(ParkingReservation.day.desc(), ParkingReservation.id.desc()).limit(100)).scalars())


def cancel(actor: Principal, reservation_id: int) -> ParkingReservation:
    """Cancel (owner or administrator); a held space goes to the first waitlisted that fits."""
    reservation = get_reservation(actor, reservation_id)
    lot = _lock(reservation.lot_id)
    held = reservation.status in HOLDING_STATES
    PARKING.transition(reservation, "cancel", actor)
    if held:
        _release_whitelist(reservation)
        promote(lot, reservation.day, reservation.kind)
    return reservation


def promote(lot: ParkingLot, day: date, kind: str) -> list[ParkingReservation]:
    """Give free spaces to waitlisted applications in rank order (the lot is locked)."""
    promoted = []
    waiting = db.session.execute(select(ParkingReservation).where(
        ParkingReservation.lot_id == lot.id, ParkingReservation.day == day, ParkingReservation.kind == kind,
        ParkingReservation.status == "waitlisted").order_by(ParkingReservation.waitlist_rank)).scalars().all()
    for candidate in waiting:
        if candidate.ends_at <= clock():
            continue
        if _fits(lot, _holding(lot.id, day, kind), kind, candidate.period):
            # promoted after its start: the grace before a no-show counts from now
            _reserve(candidate, "promote", starts_at=max(candidate.starts_at, clock()))
            promoted.append(candidate)
    return promoted


# --- the draw -------------------------------------------------------------------------------

def weight_of(reservation: ParkingReservation, lookback_from: date) -> tuple[float, tuple[str, ...]]:
    """1.0, halved per win and per no-show of the person in the lookback; doubled for an EV
    driver drawing for a charging space. Returns (weight, reasons)."""
    recent = db.session.execute(select(ParkingReservation.status, func.count()).where(
        ParkingReservation.user_id == reservation.user_id, ParkingReservation.visit_id.is_(None),
        ParkingReservation.day >= lookback_from, ParkingReservation.day < reservation.day,
        ParkingReservation.status.in_(("reserved", "entered", "completed", "no_show")))
        .group_by(ParkingReservation.status)).all()
    counts = dict(recent)
    wins = sum(counts.get(s, 0) for s in ("reserved", "entered", "completed"))
    no_shows = counts.get("no_show", 0)
    weight, reasons = 1.0, []
    if wins:
        weight *= 0.5 ** wins
        reasons.append(f"近期中签 {wins} 次")
    if no_shows:
        weight *= 0.5 ** no_shows
        reasons.append(f"近期爽约 {no_shows} 次")
    if reservation.kind == "ev":
        weight *= 2
        reasons.append("新能源车申请充电车位")
    return weight, tuple(reasons)


def run_draw(lot_id: int, day: date, kind: str, seed: str | None = None) -> ParkingDraw | None:
    """The draw of one lot, day and kind (once: None if it ran already). The caller commits."""
    lot = _lock(lot_id)
    if db.session.execute(select(ParkingDraw.id).where(ParkingDraw.lot_id == lot.id, ParkingDraw.day == day,
                                                       ParkingDraw.period == "day", ParkingDraw.kind == kind)).first():
        return None
    applied = db.session.execute(select(ParkingReservation).where(
        ParkingReservation.lot_id == lot.id, ParkingReservation.day == day, ParkingReservation.kind == kind,
        ParkingReservation.status == "applied").order_by(ParkingReservation.id)).scalars().all()
    lookback = day - timedelta(days=current_app.config["PARKING_DRAW_LOOKBACK_DAYS"])
    applicants = []
    for reservation in applied:
        weight, reasons = weight_of(reservation, lookback)
        applicants.append(Applicant(reservation.id, reservation.user_id, weight, reasons))
    seed = seed or secrets.token_hex(16)
    order = draw(seed, applicants, len(applicants))["winners"]  # the whole drawn order
    by_id = {r.id: r for r in applied}
    winners, waitlist = [], []
    for reservation_id in order:
        reservation = by_id[reservation_id]
        if _fits(lot, _holding(lot.id, day, kind), kind, reservation.period):
            _reserve(reservation, "win")
            winners.append(reservation_id)
        else:
            waitlist.append(reservation_id)
    record = ParkingDraw(lot_id=lot.id, day=day, period="day", kind=kind, algorithm=DRAW_ALGORITHM, seed=seed,
                         supply=lot.capacity_of(kind),
                         applicants=[{"reservation_id": a.reservation_id, "user_id": a.user_id, "weight": a.weight,
                                      "reasons": list(a.reasons)} for a in applicants],
                         result={"order": order, "winners": winners, "waitlist": waitlist})
    db.session.add(record)
    db.session.flush()
    for rank, reservation_id in enumerate(waitlist, 1):
        PARKING.transition(by_id[reservation_id], "waitlist", SYSTEM,
                           values={"waitlist_rank": rank, "draw_id": record.id})
    for reservation_id in winners:
        by_id[reservation_id].draw_id = record.id
    return record


def run_due_draws(now: datetime | None = None) -> int:
    """The `parking_draws` sweep: every draw whose time has come (tomorrow's, after the
    lot's draw time), one short transaction each; safe to run twice or from two processes."""
    now = now or clock()
    done = 0
    for lot in db.session.execute(select(ParkingLot).where(ParkingLot.is_active, ParkingLot.mode == "reservation")
                                  ).scalars().all():
        day = local(now).date() + timedelta(days=1)
        if now < draw_time(lot, day):
            continue
        for kind in STAFF_KINDS:
            if run_draw(lot.id, day, kind) is not None:
                done += 1
            db.session.commit()
    return done


def mark_no_shows(now: datetime | None = None) -> int:
    """The `parking_no_shows` sweep: reservations not entered by start + the lot's grace."""
    now = now or clock()
    rows = db.session.execute(select(ParkingReservation.id).join(ParkingLot).where(
        ParkingReservation.status == "reserved", ParkingReservation.visit_id.is_(None),
        ParkingReservation.starts_at + func.make_interval(0, 0, 0, 0, 0, ParkingLot.grace_minutes) < now))
    marked = 0
    for (reservation_id,) in rows.all():
        reservation = db.session.get(ParkingReservation, reservation_id)
        if reservation.status == "reserved":
            lot = _lock(reservation.lot_id)
            PARKING.transition(reservation, "mark_no_show", SYSTEM, only_from=("reserved",))
            _release_whitelist(reservation)
            promote(lot, reservation.day, reservation.kind)
            marked += 1
        db.session.commit()
    return marked


def draw_of(actor: Principal, reservation_id: int) -> ParkingDraw:
    """The draw a reservation took part in, for its applicant (or administrators)."""
    reservation = get_reservation(actor, reservation_id)
    record = db.session.execute(select(ParkingDraw).where(
        ParkingDraw.lot_id == reservation.lot_id, ParkingDraw.day == reservation.day,
        ParkingDraw.period == "day", ParkingDraw.kind == reservation.kind)).scalar()
    ensure_visible(record is not None)
    return record
