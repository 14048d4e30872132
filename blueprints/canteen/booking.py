"""Meal bookings (报餐): book a meal or a week, limited specials, cancel, the pickup pass,
no-shows and their penalties. Plain functions (no `request`); they write inside the caller's
transaction and the route commits.

Concurrency, decided by PostgreSQL:
- one live booking per person, meal and day: the partial unique index `uq_meal_booking_live`
  (the insert runs in a savepoint; its IntegrityError becomes CANTEEN_ALREADY_BOOKED);
- a special: ONE statement decrements `portions_left` (only while > 0) and inserts the booking
  (`WITH d AS (UPDATE special ... RETURNING) INSERT ... SELECT FROM d`), so a booking and its
  portion exist together or not at all, and the row lock on the special serialises the race;
  no row back = sold out; a cancelled booking gives its portion back in its transaction;
- a slot's capacity (when set): a transaction-level advisory lock per (slot, day), taken just
  before counting the live bookings and inserting, so two processes never both take the last
  place (slots without capacity take no lock, so a storm on them is not serialised).

Times come from `rules.clock()` unless a service gets `now=` (tests pass fixed times; the pickup
pass's `can_scan` has no `now`, tests replace `rules.clock`)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app import qrpass
from app.auth import Principal, ensure_visible
from app.errors import AppError, register_codes
from app.extensions import db, violated_constraint
from app.lifecycle import CREATE_LABEL, SYSTEM
from app.locks import lock_key
from app.notify import notify, register_templates
from app.timeutil import local
from blueprints.canteen import rules
from blueprints.canteen.rules import MEAL, booking_opens_at, cutoff_at, operates, serves_on, serving_window
from models.canteen import (
    LIVE_BOOKING_STATES,
    MEALS,
    BookingPenalty,
    Canteen,
    Dish,
    MealBooking,
    MealSlot,
    Menu,
    MenuItem,
    Special,
)
from models.platform import OrderTransition

register_codes({
    "CANTEEN_SLOT_NOT_FOUND": (404, "该餐次不存在", "Booking: no meal slot with this id."),
    "CANTEEN_SLOT_INACTIVE": (422, "该餐次已停止预订", "Booking: the meal slot is disabled."),
    "CANTEEN_INACTIVE": (422, "该食堂已停止服务", "Booking: the canteen is disabled."),
    "CANTEEN_NOT_SERVING": (422, "该日不供应此餐", "Booking: the slot does not serve that day (calendar)."),
    "CANTEEN_BOOKING_NOT_OPEN": (
        409, "尚未开放预订", "Booking: before booking opens (`details.opens_at`: open_days_ahead days before, 00:00)."),
    "CANTEEN_BOOKING_CLOSED": (
        409, "预订已截止", "Booking: at or after the cut-off, or a past day (`details.cutoff_at`)."),
    "CANTEEN_ALREADY_BOOKED": (
        409, "您已预订该餐", "Booking: a live booking of that meal and day exists, any canteen "
                          "(`details.booking_id`)."),
    "CANTEEN_SUSPENDED": (
        403, "您的报餐已被暂停", "Booking: a no-show suspension covers the day (`details.ends_on`, `reason`)."),
    "CANTEEN_FULL": (409, "该餐预订已满", "Booking: the slot's capacity for that day is reached."),
    "CANTEEN_DISH_INVALID": (
        422, "所选菜品不在当日已发布的菜单中或份量无效",
        "Booking: a pre-selected dish is not on that day's published menu, repeats, or has no such portion "
        "(`details.dish_id`)."),
    "CANTEEN_SPECIAL_INVALID": (
        422, "该特色菜不属于所选餐次和日期，或已下架",
        "Booking: special_id is not an active special of that slot and day."),
    "CANTEEN_SPECIAL_NOT_OPEN": (409, "特色菜尚未开始预订", "Booking: before the special's opens_at."),
    "CANTEEN_SPECIAL_SOLD_OUT": (409, "特色菜已售罄", "Booking: no portion of the special is left."),
    "CANTEEN_CANCEL_CLOSED": (409, "已过取消截止时间，不能取消", "Cancel: at or after the slot's cut-off."),
    "CANTEEN_CANCEL_NOT_ALLOWED": (409, "该餐次预订后不可取消", "Cancel: the slot does not allow cancelling."),
    "CANTEEN_PASS_WRONG_DAY": (
        409, "取餐码不是今天的", "Pickup scan: the booking is for another day (Asia/Shanghai)."),
    "CANTEEN_PASS_OUTSIDE_WINDOW": (
        409, "不在取餐时间内", "Pickup scan: outside the serving window (± PASS_TOLERANCE minutes)."),
    "CANTEEN_PASS_OTHER_CANTEEN": (403, "该取餐码不属于本食堂", "Pickup scan: canteen staff of another canteen."),
    "CANTEEN_PENALTY_LIFTED": (409, "该处罚已解除", "Lift: the penalty was lifted already."),
})

register_templates({
    # Canteen no-shows (blueprints/canteen/booking.py mark_no_shows). Context: meal (the missed
    # meal, "6月3日午餐"), count, window (days), reason, ends_on ("6月10日"; suspension only).
    "canteen_no_show_warning": {
        "template_id": "",
        "title": "报餐未取餐提醒",
        "body": "您预订的{meal}未取餐。{reason}。如不用餐，请在截止时间前取消预订。",
        "page": "pages/canteen/penalties",
        "fields": {"thing1": "{meal}", "thing2": "{reason}"},
        "long_term": False,
    },
    "canteen_booking_suspended": {
        "template_id": "",
        "title": "报餐已暂停",
        "body": "您预订的{meal}未取餐。{reason}，暂停至{ends_on}（含）。如有异议请联系管理员。",
        "page": "pages/canteen/penalties",
        "fields": {"thing1": "{meal}", "thing2": "{reason}", "thing3": "暂停至{ends_on}"},
        "long_term": False,
    },
})

WEEK_MAX_DAYS = 7
# A pickup pass scans from this long before serving starts until this long after it ends; the
# no-show sweep waits for the same grace after the end, so a late diner is not both.
PASS_TOLERANCE = timedelta(minutes=15)
NO_SHOW_BATCH = 500
WEEKDAYS = "一二三四五六日"


# --- formatting ----------------------------------------------------------------------------

def meal_label(meal: str) -> str:
    return MEALS.get(meal, meal)


def day_text(day: date) -> str:
    return f"{day.month}月{day.day}日"


def _moment_text(moment: datetime, day: date) -> str:
    """A cut-off or opening time as the diner reads it relative to the meal's day."""
    moment = local(moment)
    if moment.date() == day:
        return moment.strftime("%H:%M")
    if moment.date() == day - timedelta(days=1):
        return "前一天 " + moment.strftime("%H:%M")
    return f"{day_text(moment.date())} {moment:%H:%M}"


def _iso(moment: datetime) -> str:
    return local(moment).isoformat()


def _now(now: datetime | None) -> datetime:
    return now or rules.clock()


# --- reading -------------------------------------------------------------------------------

def get_booking(actor: Principal, booking_id: int) -> MealBooking:
    """A booking the actor may see (owner, the canteen's operators, admins/auditors); else NOT_FOUND."""
    booking = db.session.get(MealBooking, booking_id)
    ensure_visible(booking is not None and MEAL.is_visible(actor, booking))
    return booking


def my_bookings_query(actor: Principal, day_from: date | None = None, day_to: date | None = None,
                      status: str | None = None):
    stmt = select(MealBooking).where(MealBooking.user_id == actor.user_id)
    if day_from:
        stmt = stmt.where(MealBooking.day >= day_from)
    if day_to:
        stmt = stmt.where(MealBooking.day <= day_to)
    if status:
        stmt = stmt.where(MealBooking.status == status)
    return stmt.order_by(MealBooking.day.desc(), MealBooking.id.desc())


def cancellable(booking: MealBooking, now: datetime | None = None) -> bool:
    return (booking.status == "booked" and booking.slot.cancel_until_cutoff
            and _now(now) < cutoff_at(booking.slot, booking.day))


def dishes_of(booking: MealBooking) -> list[dict]:
    """The pre-selected dishes with their names."""
    ids = [d["dish_id"] for d in booking.dishes or []]
    if not ids:
        return []
    names = dict(db.session.execute(select(Dish.id, Dish.name).where(Dish.id.in_(ids))).all())
    return [{"dish_id": d["dish_id"], "name": names.get(d["dish_id"], ""), "portion": d["portion"]}
            for d in booking.dishes]


def special_of(booking: MealBooking) -> Special | None:
    return db.session.get(Special, booking.special_id) if booking.special_id else None


def specials(day: date, canteen_id: int | None = None) -> list[Special]:
    """Active specials of a day (optionally one canteen), with portions left (PostgreSQL's figure)."""
    stmt = (select(Special).join(MealSlot, MealSlot.id == Special.slot_id)
            .where(Special.day == day, Special.is_active.is_(True)))
    if canteen_id is not None:
        stmt = stmt.where(MealSlot.canteen_id == canteen_id)
    return list(db.session.execute(stmt.order_by(Special.opens_at, Special.id)).scalars())


# --- booking -------------------------------------------------------------------------------

def _slot(slot_id: int) -> MealSlot:
    slot = db.session.get(MealSlot, slot_id, options=[joinedload(MealSlot.canteen)])  # one statement
    if slot is None:
        raise AppError("CANTEEN_SLOT_NOT_FOUND", details={"slot_id": slot_id})
    if not slot.canteen.is_active:
        raise AppError("CANTEEN_INACTIVE", f"「{slot.canteen.name}」已停止服务",
                       details={"canteen_id": slot.canteen_id})
    if not slot.is_active:
        raise AppError("CANTEEN_SLOT_INACTIVE", f"「{slot.canteen.name}」{meal_label(slot.meal)}已停止预订",
                       details={"slot_id": slot.id})
    return slot


def active_suspension(user_id: int, day: date) -> BookingPenalty | None:
    return db.session.execute(
        select(BookingPenalty).where(
            BookingPenalty.user_id == user_id, BookingPenalty.kind == "suspension",
            BookingPenalty.lifted_at.is_(None), BookingPenalty.starts_on <= day, BookingPenalty.ends_on >= day)
        .order_by(BookingPenalty.ends_on.desc()).limit(1)).scalar_one_or_none()


def check_bookable(slot: MealSlot, day: date, user_id: int, now: datetime) -> None:
    """The time rules and the user's suspension, each a stable code naming the times."""
    meal = meal_label(slot.meal)
    if not serves_on(slot, day):
        raise AppError("CANTEEN_NOT_SERVING", f"{day_text(day)}（周{WEEKDAYS[day.weekday()]}）不供应{meal}",
                       details={"day": day.isoformat()})
    opens = booking_opens_at(slot, day)
    if now < opens:
        raise AppError("CANTEEN_BOOKING_NOT_OPEN", f"{day_text(day)}{meal}将于 {_moment_text(opens, day)} 开放预订",
                       details={"opens_at": _iso(opens)})
    cutoff = cutoff_at(slot, day)
    if now >= cutoff:
        raise AppError("CANTEEN_BOOKING_CLOSED", f"{day_text(day)}{meal}预订已于 {_moment_text(cutoff, day)} 截止",
                       details={"cutoff_at": _iso(cutoff)})
    penalty = active_suspension(user_id, day)
    if penalty is not None:
        raise AppError("CANTEEN_SUSPENDED", f"您的报餐已暂停至 {day_text(penalty.ends_on)}（含）：{penalty.reason}",
                       details={"penalty_id": penalty.id, "ends_on": penalty.ends_on.isoformat(),
                                "reason": penalty.reason})


def _check_dishes(slot: MealSlot, day: date, dishes: list[dict]) -> list[dict]:
    if not dishes:
        return []
    menu = db.session.execute(select(Menu).where(Menu.slot_id == slot.id, Menu.day == day,
                                                 Menu.status == "published")).scalar_one_or_none()
    if menu is None:
        raise AppError("CANTEEN_DISH_INVALID", f"{day_text(day)}{meal_label(slot.meal)}的菜单尚未发布，暂不能选菜",
                       details={"menu": None})
    offered = {row.id: row for row in db.session.execute(
        select(Dish).join(MenuItem, MenuItem.dish_id == Dish.id).where(MenuItem.menu_id == menu.id)).scalars()}
    chosen, seen = [], set()
    for item in dishes:
        dish = offered.get(item["dish_id"])
        if dish is None or item["dish_id"] in seen:
            raise AppError("CANTEEN_DISH_INVALID", "所选菜品不在当日菜单中或重复选择",
                           details={"dish_id": item["dish_id"]})
        portion = item.get("portion") or "full"
        if portion not in dish.portions:
            raise AppError("CANTEEN_DISH_INVALID", f"「{dish.name}」没有该份量",
                           details={"dish_id": dish.id, "portion": portion, "portions": list(dish.portions)})
        seen.add(dish.id)
        chosen.append({"dish_id": dish.id, "portion": portion})
    return chosen


def _check_special(slot: MealSlot, day: date, special_id: int, now: datetime) -> Special:
    special = db.session.get(Special, special_id)
    if special is None or special.slot_id != slot.id or special.day != day or not special.is_active:
        raise AppError("CANTEEN_SPECIAL_INVALID", details={"special_id": special_id})
    if now < special.opens_at:
        raise AppError("CANTEEN_SPECIAL_NOT_OPEN",
                       f"「{special.name}」将于 {_moment_text(special.opens_at, day)} 开始预订",
                       details={"opens_at": _iso(special.opens_at)})
    if special.portions_left <= 0:
        raise _sold_out(special)
    return special


def _sold_out(special: Special) -> AppError:
    return AppError("CANTEEN_SPECIAL_SOLD_OUT", f"「{special.name}」已售罄", details={"special_id": special.id})


def _live_booking_id(user_id: int, day: date, meal: str) -> int | None:
    return db.session.execute(select(MealBooking.id).where(
        MealBooking.user_id == user_id, MealBooking.day == day, MealBooking.meal == meal,
        MealBooking.status.in_(LIVE_BOOKING_STATES))).scalar()


def _already_booked(user_id: int, day: date, slot: MealSlot) -> AppError:
    existing = _live_booking_id(user_id, day, slot.meal)
    return AppError("CANTEEN_ALREADY_BOOKED", f"您已预订{day_text(day)}的{meal_label(slot.meal)}",
                    details={"booking_id": existing})


def _check_capacity(slot: MealSlot, day: date) -> None:
    """Serialise the bookings of a slot with a capacity, per day, until commit."""
    if slot.capacity is None:
        return
    db.session.execute(select(func.pg_advisory_xact_lock(lock_key(f"canteen_slot:{slot.id}:{day.isoformat()}"))))
    taken = db.session.execute(select(func.count()).where(
        MealBooking.slot_id == slot.id, MealBooking.day == day,
        MealBooking.status.in_(LIVE_BOOKING_STATES))).scalar_one()
    if taken >= slot.capacity:
        raise AppError("CANTEEN_FULL", f"{day_text(day)}{meal_label(slot.meal)}预订已满（{slot.capacity} 份）",
                       details={"capacity": slot.capacity})


_INSERT_WITH_SPECIAL = text("""
WITH d AS (
    UPDATE special SET portions_left = portions_left - 1
    WHERE id = :special_id AND portions_left > 0 AND is_active
    RETURNING id
)
INSERT INTO meal_booking (user_id, department_id, canteen_id, slot_id, meal, day, status, special_id, dishes)
SELECT :user_id, :department_id, :canteen_id, :slot_id, :meal, :day, 'booked', d.id, CAST(:dishes AS jsonb)
FROM d
RETURNING meal_booking.*
""")


def _insert(actor: Principal, slot: MealSlot, day: date, special: Special | None, dishes: list[dict]) -> MealBooking:
    """Insert the booking (and take the special's portion in the same statement) in a savepoint."""
    try:
        with db.session.begin_nested():
            if special is None:
                booking = MealBooking(user_id=actor.user_id, department_id=actor.department_id,
                                      canteen_id=slot.canteen_id, slot_id=slot.id, meal=slot.meal, day=day,
                                      status="booked", dishes=dishes)
                db.session.add(booking)
                db.session.flush()
            else:
                # The inserted row comes back whole (RETURNING), loaded as the booking: no re-read.
                booking = db.session.execute(select(MealBooking).from_statement(_INSERT_WITH_SPECIAL), {
                    "special_id": special.id, "user_id": actor.user_id, "department_id": actor.department_id,
                    "canteen_id": slot.canteen_id, "slot_id": slot.id, "meal": slot.meal, "day": day,
                    "dishes": json.dumps(dishes)}).scalar()
                if booking is None:
                    raise _sold_out(special)
    except IntegrityError as exc:
        constraint = violated_constraint(exc)
        if constraint in ("uq_meal_booking_live", "uq_meal_booking_special_live"):
            raise _already_booked(actor.user_id, day, slot) from None
        raise
    _attach(booking, slot, special)
    MEAL.record_creation(booking, actor)
    _keep_creation_timeline(booking, actor)
    return booking


def _keep_creation_timeline(booking: MealBooking, actor: Principal) -> None:
    """A new booking's timeline is its creation row: flush it now (its INSERT returns `at`) and
    keep it on the booking as `MEAL.timeline` would give it, so the 201 body needs no query.
    `booking.new_timeline` exists only on bookings created in this session."""
    rows = [o for o in db.session.new if isinstance(o, OrderTransition)
            and o.order_type == MEAL.order_type and o.order_id == booking.id]
    db.session.flush()
    if len(rows) != 1 or rows[0].at is None:
        return
    row = rows[0]
    booking.new_timeline = [{
        "at": row.at, "transition": row.transition, "transition_label": CREATE_LABEL,
        "from_state": None, "from_label": None, "to_state": row.to_state, "to_label": MEAL.label(row.to_state),
        "actor_id": row.actor_id, "actor_name": actor.name if row.actor_id else SYSTEM.name, "note": row.note}]


def _attach(booking: MealBooking, slot: MealSlot, special: Special | None) -> None:
    """Give the new booking the slot and canteen already loaded (the response reads them) and
    keep the special referenced for this session, so serialising the booking reads neither
    again (the session's identity map holds objects only weakly)."""
    set_committed_value(booking, "slot", slot)
    set_committed_value(booking, "canteen", slot.canteen)
    if special is not None:
        db.session.info.setdefault("canteen_loaded", []).append(special)


def book(actor: Principal, slot_id: int, day: date, special_id: int | None = None,
         dishes: list[dict] | None = None, now: datetime | None = None) -> MealBooking:
    """Book one meal (the caller commits). Raises the CANTEEN_* codes above."""
    now = _now(now)
    slot = _slot(slot_id)
    return _book_day(actor, slot, day, special_id, dishes or [], now)


def _book_day(actor: Principal, slot: MealSlot, day: date, special_id: int | None, dishes: list[dict],
              now: datetime) -> MealBooking:
    check_bookable(slot, day, actor.user_id, now)
    special = _check_special(slot, day, special_id, now) if special_id is not None else None
    chosen = _check_dishes(slot, day, dishes)
    if _live_booking_id(actor.user_id, day, slot.meal) is not None:  # the friendly answer; the index decides
        raise _already_booked(actor.user_id, day, slot)
    _check_capacity(slot, day)
    return _insert(actor, slot, day, special, chosen)


def book_week(actor: Principal, slot_id: int, days: list[date], now: datetime | None = None) -> list[dict]:
    """Book several days of one slot: each day on its own (a savepoint each), so the days that
    can be booked are booked; returns per day {day, booked, booking | code, message, details}."""
    now = _now(now)
    slot = _slot(slot_id)
    results = []
    for day in sorted(set(days)):
        try:
            with db.session.begin_nested():
                booking = _book_day(actor, slot, day, None, [], now)
            results.append({"day": day, "booked": True, "booking": booking})
        except AppError as exc:
            results.append({"day": day, "booked": False, "code": exc.code, "message": exc.message,
                            "details": exc.details})
    return results


# --- cancelling ----------------------------------------------------------------------------

def cancel(actor: Principal, booking_id: int, note: str | None = None, now: datetime | None = None) -> MealBooking:
    """Cancel before the cut-off (owner or admin); a special's portion goes back in the same
    transaction. INVALID_TRANSITION when it is no longer booked."""
    now = _now(now)
    booking = get_booking(actor, booking_id)
    if booking.status == "booked":
        slot = booking.slot
        if not slot.cancel_until_cutoff:
            raise AppError("CANTEEN_CANCEL_NOT_ALLOWED", f"{meal_label(slot.meal)}预订后不可取消")
        cutoff = cutoff_at(slot, booking.day)
        if now >= cutoff and not actor.is_admin:
            raise AppError("CANTEEN_CANCEL_CLOSED",
                           f"{day_text(booking.day)}{meal_label(slot.meal)}已于 {_moment_text(cutoff, booking.day)} "
                           "截止取消", details={"cutoff_at": _iso(cutoff)})
    special_id = booking.special_id
    MEAL.transition(booking, "cancel", actor, note=note, values={"cancelled_at": now})
    if special_id is not None:
        db.session.execute(update(Special).where(Special.id == special_id)
                           .values(portions_left=Special.portions_left + 1))
    return booking


# --- pickup pass ---------------------------------------------------------------------------

def _can_scan(scanner: Principal, booking: MealBooking) -> bool:
    """Canteen staff of the booking's canteen, on the booking's day, within the serving window
    ± PASS_TOLERANCE; a clear refusal otherwise."""
    if not operates(scanner, booking.canteen):
        if scanner.has_any("canteen_staff", "canteen_manager"):
            raise AppError("CANTEEN_PASS_OTHER_CANTEEN", f"该取餐码属于「{booking.canteen.name}」，不能在本食堂核销",
                           details={"canteen_id": booking.canteen_id})
        return False
    now = rules.clock()
    meal = meal_label(booking.meal)
    if local(now).date() != booking.day:
        raise AppError("CANTEEN_PASS_WRONG_DAY", f"这是{day_text(booking.day)}{meal}的取餐码，今天不能使用",
                       details={"day": booking.day.isoformat()})
    start, end = serving_window(booking.slot, booking.day)
    if not start - PASS_TOLERANCE <= now <= end + PASS_TOLERANCE:
        raise AppError("CANTEEN_PASS_OUTSIDE_WINDOW", f"{meal}取餐时间为 {start:%H:%M}–{end:%H:%M}",
                       details={"serve_start": _iso(start), "serve_end": _iso(end)})
    return True


def _pass_summary(booking: MealBooking) -> dict:
    special = special_of(booking)
    return {"canteen": booking.canteen.name, "meal": booking.meal, "meal_label": meal_label(booking.meal),
            "day": booking.day.isoformat(), "special": special.name if special else None,
            "dishes": [f"{d['name']}（{'半份' if d['portion'] == 'half' else '整份'}）" for d in dishes_of(booking)]}


MEAL_PASS = qrpass.register_purpose("meal", MEAL, steps={"booked": "serve"}, can_scan=_can_scan, label="取餐码",
                                    summary=_pass_summary)


# --- no-shows and penalties ----------------------------------------------------------------

def mark_no_shows(now: datetime | None = None) -> int:
    """Sweep: bookings still "booked" after their serving window (+ PASS_TOLERANCE) become
    no_show (conditional transitions by SYSTEM, in batches), then each one's consequence:
    the user's no-shows within CANTEEN_NO_SHOW_WINDOW_DAYS (since their last lifted penalty)
    reaching WARN_AT → a warning, SUSPEND_AT → booking suspended CANTEEN_SUSPEND_DAYS from the
    next day; both notified. UNIQUE (user, trigger booking) makes a rerun harmless. Commits."""
    now = _now(now)
    window_end = func.timezone("Asia/Shanghai", MealBooking.day + MealSlot.serve_end)
    changed = 0
    while True:
        ids = list(db.session.execute(
            select(MealBooking.id).join(MealSlot, MealSlot.id == MealBooking.slot_id)
            .where(MealBooking.status == "booked", window_end + PASS_TOLERANCE < now)
            .order_by(MealBooking.user_id, MealBooking.day, MealBooking.id).limit(NO_SHOW_BATCH)).scalars())
        if not ids:
            return changed
        for booking_id in ids:
            try:
                with db.session.begin_nested():
                    booking = MEAL.transition(booking_id, "mark_no_show", SYSTEM)
            except AppError:  # served or cancelled meanwhile
                continue
            changed += 1
            _consequence(booking, now)
        db.session.commit()


def _consequence(booking: MealBooking, now: datetime) -> BookingPenalty | None:
    config = current_app.config
    window = config["CANTEEN_NO_SHOW_WINDOW_DAYS"]
    since = booking.day - timedelta(days=window)
    lifted = db.session.execute(select(func.max(BookingPenalty.lifted_at)).where(
        BookingPenalty.user_id == booking.user_id)).scalar()
    conditions = [MealBooking.user_id == booking.user_id, MealBooking.status == "no_show",
                  MealBooking.day > since, MealBooking.day <= booking.day]
    if lifted is not None:
        conditions.append(MealBooking.day > local(lifted).date())
    count = db.session.execute(select(func.count()).where(*conditions)).scalar_one()
    start = rules.today(now) + timedelta(days=1)
    if count >= config["CANTEEN_NO_SHOW_SUSPEND_AT"]:
        kind, ends_on = "suspension", start + timedelta(days=config["CANTEEN_SUSPEND_DAYS"] - 1)
        reason = f"近 {window} 天内预订后未取餐 {count} 次，暂停报餐 {config['CANTEEN_SUSPEND_DAYS']} 天"
    elif count >= config["CANTEEN_NO_SHOW_WARN_AT"]:
        kind, ends_on = "warning", None
        reason = (f"近 {window} 天内预订后未取餐 {count} 次；累计 {config['CANTEEN_NO_SHOW_SUSPEND_AT']} 次"
                  f"将暂停报餐 {config['CANTEEN_SUSPEND_DAYS']} 天")
    else:
        return None
    penalty_id = db.session.execute(
        pg_insert(BookingPenalty).values(
            user_id=booking.user_id, kind=kind, reason=reason, no_shows=count, trigger_booking_id=booking.id,
            starts_on=start, ends_on=ends_on, notified=True)
        .on_conflict_do_nothing(index_elements=["user_id", "trigger_booking_id"])
        .returning(BookingPenalty.id)).scalar()
    if penalty_id is None:
        return None
    context = {"meal": f"{day_text(booking.day)}{meal_label(booking.meal)}", "count": count, "reason": reason,
               "ends_on": day_text(ends_on) if ends_on else "", "window": window}
    notify(booking.user_id, "canteen_booking_suspended" if kind == "suspension" else "canteen_no_show_warning",
           context, page="pages/canteen/penalties")
    return db.session.get(BookingPenalty, penalty_id)


def my_penalties_query(actor: Principal):
    return (select(BookingPenalty).where(BookingPenalty.user_id == actor.user_id)
            .order_by(BookingPenalty.created_at.desc(), BookingPenalty.id.desc()))


def penalty_active(penalty: BookingPenalty, now: datetime | None = None) -> bool:
    if penalty.lifted_at is not None or penalty.kind != "suspension":
        return False
    return penalty.ends_on >= rules.today(now)


def lift_penalty(actor: Principal, penalty_id: int, note: str | None = None,
                 now: datetime | None = None) -> BookingPenalty:
    """An administrator lifts a penalty (one conditional update; audited by the caller's route)."""
    from app import audit

    penalty = db.session.get(BookingPenalty, penalty_id)
    if penalty is None:
        raise AppError("NOT_FOUND")
    lifted = db.session.execute(
        update(BookingPenalty).where(BookingPenalty.id == penalty_id, BookingPenalty.lifted_at.is_(None))
        .values(lifted_at=_now(now), lifted_by_id=actor.user_id or None)
        .returning(BookingPenalty.id).execution_options(synchronize_session=False)).scalar()
    if lifted is None:
        raise AppError("CANTEEN_PENALTY_LIFTED")
    db.session.expire(penalty)
    audit.record("canteen.penalty_lift", "booking_penalty", penalty_id,
                 {"kind": penalty.kind, "note": (note or "")[:200]}, actor=actor)
    return penalty


def penalties_query(active_only: bool = False, now: datetime | None = None):
    """Every penalty, newest first (administrators)."""
    stmt = select(BookingPenalty)
    if active_only:
        stmt = stmt.where(BookingPenalty.lifted_at.is_(None),
                          or_(BookingPenalty.kind == "warning",
                              and_(BookingPenalty.kind == "suspension", BookingPenalty.ends_on >= rules.today(now))))
    return stmt.order_by(BookingPenalty.created_at.desc(), BookingPenalty.id.desc())


def operated_canteen_ids(actor: Principal) -> list[int] | None:
    """Canteens the actor operates (None: all, for admins/auditors)."""
    if actor.reads_everything:
        return None
    return [c.id for c in db.session.execute(select(Canteen)).scalars() if operates(actor, c)]

