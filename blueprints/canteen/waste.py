"""Actual diner counts and waste weighings, entered by the canteen's operators.

Diner counts: one figure per slot and day (walk-ins included), re-entering replaces it
(INSERT ... ON CONFLICT DO UPDATE), every entry audited with the previous figure.

Waste weighings (by stage: preparation, overproduction, plate) are append-only: a
correction is a new row naming the row it corrects (`corrects_id`, UNIQUE), so the original
stays. A row can be corrected once; correcting a row that already has a correction is
CANTEEN_WASTE_ALREADY_CORRECTED naming the newer row (correct that one), also when two
operators correct at once. The figure that counts is the newest row of each chain: a row no
other row corrects ("effective"). Several weighings of one slot, day and stage (two bins)
are separate chains and add up.

Days: a figure for a day after today (Asia/Shanghai) is refused (CANTEEN_DAY_IN_FUTURE).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app import audit
from app.auth import Principal, ensure_visible
from app.errors import AppError, register_codes
from app.extensions import db, get_row, violated_constraint
from app.timeutil import local, utcnow
from blueprints.attachments import service as attachments
from blueprints.canteen import rules
from models.canteen import Canteen, DinerCount, MealSlot, WasteEntry

register_codes({
    "CANTEEN_DAY_IN_FUTURE": (422, "不能为今天以后的日期填报",
                              "Diner counts and waste weighings: the day is after today (Asia/Shanghai)."),
    "CANTEEN_WASTE_ALREADY_CORRECTED": (409, "该记录已被更正过，请在最新的更正记录上更正",
                                        "Waste weighing: the row already has a correction; `details.newer_id` "
                                        "names it (correct that one)."),
    "CANTEEN_RANGE_INVALID": (422, "日期范围不正确（开始不能晚于结束，且最长一年）",
                              "Canteen figures: `from` after `to`, or a range longer than 366 days."),
})

MAX_RANGE_DAYS = 366


# A weighing's photo is seen by whoever reads the canteen's figures.
attachments.register_holder(
    "waste_entry", WasteEntry,
    visible=lambda actor, entry: rules.reads_internals(actor, db.session.get(Canteen, entry.canteen_id)))


def _slot_for_entry(actor: Principal, slot_id: int) -> MealSlot:
    """The slot, if the caller enters figures for its canteen; NOT_FOUND otherwise."""
    slot = get_row(MealSlot, slot_id)
    ensure_visible(slot is not None and rules.manages(actor, slot.canteen))
    return slot


def _past_or_today(day: date, now: datetime) -> None:
    if day > local(now).date():
        raise AppError("CANTEEN_DAY_IN_FUTURE", details={"day": day.isoformat()})


def check_range(start: date, end: date) -> None:
    if start > end or (end - start).days >= MAX_RANGE_DAYS:
        raise AppError("CANTEEN_RANGE_INVALID")


# --- diner counts --------------------------------------------------------------------------

def set_diner_count(actor: Principal, slot_id: int, day: date, diners: int, *,
                    now: datetime | None = None) -> DinerCount:
    """Enter (or replace) the actual diners of a slot on a day; audited (caller commits)."""
    now = now or utcnow()
    slot = _slot_for_entry(actor, slot_id)
    _past_or_today(day, now)
    previous = db.session.execute(select(DinerCount.diners).where(
        DinerCount.slot_id == slot.id, DinerCount.day == day)).scalar()
    row_id = db.session.execute(
        pg_insert(DinerCount).values(canteen_id=slot.canteen_id, slot_id=slot.id, day=day, diners=diners,
                                     entered_by_id=actor.user_id, updated_at=now)
        .on_conflict_do_update(index_elements=["slot_id", "day"],
                               set_={"diners": diners, "entered_by_id": actor.user_id, "updated_at": now})
        .returning(DinerCount.id)).scalar_one()
    audit.record("canteen.diner_count.set", "diner_count", row_id,
                 {"slot_id": slot.id, "day": day.isoformat(), "diners": diners, "previous": previous}, actor=actor)
    return db.session.execute(select(DinerCount).where(DinerCount.id == row_id)
                              .execution_options(populate_existing=True)).scalar_one()


def diner_counts_query(actor: Principal, canteen_id: int, start: date, end: date):
    canteen = rules.find_canteen(actor, canteen_id)
    check_range(start, end)
    return (select(DinerCount).where(DinerCount.canteen_id == canteen.id, DinerCount.day.between(start, end))
            .order_by(DinerCount.day, DinerCount.slot_id))


# --- waste weighings -----------------------------------------------------------------------



def add_waste(actor: Principal, slot_id: int, day: date, stage: str, kg: Decimal, note: str = "", *,
              photo_id: int | None = None, now: datetime | None = None) -> WasteEntry:
    now = now or utcnow()
    slot = _slot_for_entry(actor, slot_id)
    _past_or_today(day, now)
    entry = WasteEntry(canteen_id=slot.canteen_id, slot_id=slot.id, day=day, stage=stage, kg=kg,
                       note=note or "", entered_by_id=actor.user_id, created_at=now, photo_id=photo_id)
    db.session.add(entry)
    db.session.flush()
    if photo_id is not None:  # the operator's own upload of purpose "waste"; 422 ATTACHMENT_INVALID otherwise
        attachments.bind([photo_id], actor, "waste_entry", entry.id, "waste")
    audit.record("canteen.waste.add", "waste_entry", entry.id,
                 {"slot_id": slot.id, "day": day.isoformat(), "stage": stage, "kg": str(kg)}, actor=actor)
    return entry


def _newer(entry_id: int) -> int | None:
    return db.session.execute(select(WasteEntry.id).where(WasteEntry.corrects_id == entry_id)).scalar()


def correct_waste(actor: Principal, entry_id: int, kg: Decimal, note: str, *,
                  now: datetime | None = None) -> WasteEntry:
    """Append a correction of `entry_id` (caller commits). NOT_FOUND unless the caller
    enters figures for its canteen; CANTEEN_WASTE_ALREADY_CORRECTED when it has one."""
    now = now or utcnow()
    original = get_row(WasteEntry, entry_id)
    ensure_visible(original is not None and rules.manages(actor, db.session.get(Canteen, original.canteen_id)))
    newer = _newer(original.id)
    if newer is not None:
        raise AppError("CANTEEN_WASTE_ALREADY_CORRECTED", details={"newer_id": newer})
    entry = WasteEntry(canteen_id=original.canteen_id, slot_id=original.slot_id, day=original.day,
                       stage=original.stage, kg=kg, note=note, corrects_id=original.id,
                       entered_by_id=actor.user_id, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(entry)
            db.session.flush()
    except IntegrityError as exc:
        if violated_constraint(exc) != "uq_waste_entry_corrects_id":
            raise
        raise AppError("CANTEEN_WASTE_ALREADY_CORRECTED", details={"newer_id": _newer(original.id)}) from None
    audit.record("canteen.waste.correct", "waste_entry", entry.id,
                 {"corrects_id": original.id, "kg": str(kg), "previous_kg": str(original.kg), "note": note},
                 actor=actor)
    return entry


def effective_condition():
    """Rows no other row corrects: the newest of each chain."""
    newer = aliased(WasteEntry)
    return ~exists().where(newer.corrects_id == WasteEntry.id)


def effective_entries(canteen_id: int, start: date, end: date) -> list[WasteEntry]:
    return list(db.session.execute(
        select(WasteEntry).where(WasteEntry.canteen_id == canteen_id, WasteEntry.day.between(start, end),
                                 effective_condition())
        .order_by(WasteEntry.day, WasteEntry.slot_id, WasteEntry.stage, WasteEntry.id)).scalars())


def waste_report(actor: Principal, canteen_id: int, start: date, end: date) -> dict:
    """{"effective": the figures that count (with the chain's original id and how many
    corrections it had), "history": every row of the period, oldest first}."""
    canteen = rules.find_canteen(actor, canteen_id)
    check_range(start, end)
    rows = list(db.session.execute(
        select(WasteEntry).where(WasteEntry.canteen_id == canteen.id, WasteEntry.day.between(start, end))
        .order_by(WasteEntry.id)).scalars())
    by_id = {row.id: row for row in rows}
    corrected_by = {row.corrects_id: row.id for row in rows if row.corrects_id is not None}
    for row in rows:
        row.corrected_by_id = corrected_by.get(row.id)
        root, depth = row, 0
        while root.corrects_id is not None and root.corrects_id in by_id:
            root, depth = by_id[root.corrects_id], depth + 1
        row.original_id, row.corrections = root.id, depth
    effective = sorted((row for row in rows if row.corrected_by_id is None),
                       key=lambda r: (r.day, r.slot_id, r.stage, r.original_id))
    return {"canteen_id": canteen.id, "from": start, "to": end, "effective": effective, "history": rows}
