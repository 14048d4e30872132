"""Demo data for the canteen (booking), after demo_menus.seed made 机关第一食堂 with its slots,
dishes, menus and specials: the demo staff's bookings — three weeks of lunches served on the
past serving days (scanned by the canteen's counter worker; the waste and ratings demos build
on them), with one diner missing every third lunch (no-shows: the production forecast and the
红黑榜 have history to work on), upcoming bookings, one cancelled, and a special when one is open.
Adds nothing when the canteen is missing or its bookings exist already."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.auth import Principal
from app.errors import AppError
from app.extensions import db
from app.lifecycle import SYSTEM
from app.timeutil import utcnow
from blueprints.canteen import booking as service
from blueprints.canteen import rules
from blueprints.canteen.rules import MEAL, operates, serves_on, serving_window
from models import RoleGrant, User
from models.canteen import Canteen, MealBooking, Special

CANTEEN = "机关第一食堂"
DINERS = ["E1001", "E1002", "E1003", "E1004", "E1005", "E1006"]
NO_SHOW_DINER = "E1007"  # misses every third lunch
HISTORY_DAYS = 15  # past serving days with lunches


def _users(numbers: list[str]) -> list[User]:
    users = {u.employee_no: u for u in db.session.execute(select(User).where(User.employee_no.in_(numbers))).scalars()}
    return [users[n] for n in numbers if n in users]


def _counter_worker(canteen: Canteen) -> Principal | None:
    """Someone who scans at this canteen's counter (吴师傅 in the demo)."""
    rows = db.session.execute(select(User).join(RoleGrant, RoleGrant.user_id == User.id).where(
        RoleGrant.role.in_(("canteen_staff", "canteen_manager")), User.is_active.is_(True))
        .order_by(RoleGrant.role.desc(), User.id)).scalars().unique()
    for user in rows:
        principal = Principal.for_user(user)
        if operates(principal, canteen):
            return principal
    return None


def _past_booking(user: User, slot, day, created: datetime) -> MealBooking:
    booking = MealBooking(user_id=user.id, department_id=user.department_id, canteen_id=slot.canteen_id,
                          slot_id=slot.id, meal=slot.meal, day=day, status="booked", created_at=created)
    db.session.add(booking)
    MEAL.record_creation(booking, Principal.for_user(user))
    return booking


def seed(now: datetime | None = None) -> None:
    now = now or utcnow()
    canteen = db.session.execute(select(Canteen).where(Canteen.name == CANTEEN)).scalar_one_or_none()
    if canteen is None:
        return
    if db.session.execute(select(MealBooking.id).where(MealBooking.canteen_id == canteen.id).limit(1)).scalar():
        return
    slots = {s.meal: s for s in canteen.slots if s.is_active}
    lunch = slots.get("lunch")
    diners = _users(DINERS)
    worker = _counter_worker(canteen)
    if lunch is None or not diners:
        return
    today = rules.today(now)

    # The past serving days: lunches served at the counter; the habitual absentee misses
    # every third one (the most recent included).
    past = [today - timedelta(days=n) for n in range(1, 8 * HISTORY_DAYS)]
    past = [d for d in past if serves_on(lunch, d)][:HISTORY_DAYS]
    absent = _users([NO_SHOW_DINER])
    for k, day in enumerate(past):
        start, _end = serving_window(lunch, day)
        for i, user in enumerate(diners + absent):
            booking = _past_booking(user, lunch, day, start - timedelta(days=1, minutes=i))
            if user in absent and k % 3 == 0:
                MEAL.transition(booking, "mark_no_show", SYSTEM)
            elif worker is not None:
                MEAL.transition(booking, "serve", worker, note="扫描取餐码",
                                values={"served_at": start + timedelta(minutes=5 + 3 * i)})

    # Upcoming: the next serving days that can still be booked.
    upcoming, day = [], today
    while len(upcoming) < 3 and day < today + timedelta(days=lunch.open_days_ahead):
        if serves_on(lunch, day):
            upcoming.append(day)
        day += timedelta(days=1)
    special_booked = False
    for day in upcoming:
        for i, user in enumerate(diners[:4]):
            special_id = None
            if not special_booked and i == 0:
                special_id = db.session.execute(select(Special.id).where(
                    Special.slot_id == lunch.id, Special.day == day, Special.is_active.is_(True),
                    Special.opens_at <= now, Special.portions_left > 0)).scalar()
            try:
                booking = service.book(Principal.for_user(user), lunch.id, day, special_id=special_id, now=now)
            except AppError:
                continue  # past the cut-off today, full...
            special_booked = special_booked or booking.special_id is not None
    # One cancelled booking (the diner changed plans).
    if upcoming and len(diners) > 4:
        try:
            changed = service.book(Principal.for_user(diners[4]), lunch.id, upcoming[-1], now=now)
            service.cancel(Principal.for_user(diners[4]), changed.id, note="临时出差", now=now)
        except AppError:
            pass
    db.session.commit()
