"""The canteen's time rules and the meal booking's lifecycle, shared by booking, menus,
production counts and anti-waste.

All rules are in Asia/Shanghai. For a slot and a date:
- `serves_on(slot, day)`: the slot serves that day (workdays by the platform calendar, or
  every day) — booking a day it does not serve is refused;
- `booking_opens_at(slot, day)`: 00:00 of `day - open_days_ahead`;
- `cutoff_at(slot, day)`: booking and cancelling close — `cutoff_minutes` before serving
  starts, or at `cutoff_time` on the previous day (breakfast: 20:00 the evening before);
- `serving_window(slot, day)`: (start, end) of serving; a booking not served by its end is a
  no-show (sweep `canteen_no_shows`);
- `checkin_window(slot, day)`: clean-plate check-in from serving start to end + grace.

Who acts on a canteen: the operator company's canteen managers (scope company), and canteen
staff scoped to the company or to this canteen (`operates(actor, canteen)`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from app.auth import Principal, ensure_visible
from app.extensions import get_row
from app.lifecycle import Lifecycle, Transition
from app.timeutil import SHANGHAI, local, utcnow
from app.workcalendar import is_workday
from models.canteen import BOOKING_STATES, Canteen, MealBooking, MealSlot


def clock() -> datetime:
    """Now (UTC). Canteen modules read the time through `rules.clock()` (or a `now=`
    argument), so tests fix it in one place (the `booking_clock` fixture)."""
    return utcnow()


def today(now: datetime | None = None) -> date:
    """The business date (Asia/Shanghai) of `now`, or of the clock."""
    return local(now or clock()).date()


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=SHANGHAI)


def serves_on(slot: MealSlot, day: date) -> bool:
    return slot.serving_days == "every_day" or is_workday(day)


def booking_opens_at(slot: MealSlot, day: date) -> datetime:
    return _at(day - timedelta(days=slot.open_days_ahead), time(0, 0))


def cutoff_at(slot: MealSlot, day: date) -> datetime:
    if slot.cutoff_kind == "previous_day":
        return _at(day - timedelta(days=1), slot.cutoff_time)
    return _at(day, slot.serve_start) - timedelta(minutes=slot.cutoff_minutes)


def serving_window(slot: MealSlot, day: date) -> tuple[datetime, datetime]:
    return _at(day, slot.serve_start), _at(day, slot.serve_end)


def checkin_window(slot: MealSlot, day: date) -> tuple[datetime, datetime]:
    start, end = serving_window(slot, day)
    return start, end + timedelta(minutes=slot.checkin_grace_minutes)


def operates(actor: Principal, canteen: Canteen) -> bool:
    """The canteen's operator staff: managers of its company, staff of its company or of it."""
    return (actor.has_role("canteen_manager", "company", canteen.company_id)
            or actor.has_role("canteen_staff", "company", canteen.company_id)
            or actor.has_role("canteen_staff", "canteen", canteen.id))


def manages(actor: Principal, canteen: Canteen) -> bool:
    """Writes on a canteen's data (dishes, menus, specials, weighings, check-in reviews): its
    operator or an administrator."""
    return actor.is_admin or operates(actor, canteen)


def reads_internals(actor: Principal, canteen: Canteen) -> bool:
    """Drafts, inactive dishes, production counts, waste figures, metrics: its operator,
    administrators and auditors."""
    return actor.reads_everything or operates(actor, canteen)


def find_canteen(actor: Principal, canteen_id: int, allow=reads_internals) -> Canteen:
    """The canteen if `allow(actor, canteen)`; else NOT_FOUND (also for ids out of range)."""
    canteen = get_row(Canteen, canteen_id)
    ensure_visible(canteen is not None and allow(actor, canteen))
    return canteen


def _operates_booking(actor: Principal, booking: MealBooking) -> bool:
    return operates(actor, booking.canteen)


def _visible(actor: Principal, booking: MealBooking) -> bool:
    return booking.user_id == actor.user_id or actor.reads_everything or operates(actor, booking.canteen)


MEAL = Lifecycle(
    order_type="meal_booking", model=MealBooking, states=BOOKING_STATES,
    transitions=[
        Transition("serve", source=("booked",), target="served", roles=("canteen_staff", "canteen_manager"),
                   label="取餐核销", authorize=_operates_booking),
        Transition("cancel", source=("booked",), target="cancelled", roles=("owner", "admin"), label="取消预订"),
        Transition("mark_no_show", source=("booked",), target="no_show", roles=("system",), label="标记未取餐"),
    ],
    title="食堂报餐", visible=_visible, rateable=("served",),
    contractor=lambda booking: booking.canteen.company_id,
)
