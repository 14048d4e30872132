"""Dish ratings (菜品评价): a diner's stars for the dishes of a served meal.

The meal itself is rated through the platform ratings (order type "meal_booking", rateable
after "served", see blueprints/ratings); this module rates the dishes of that meal, one row
per booking and dish (`dish_rating`, UNIQUE (booking_id, dish_id)).

Rules (each with its code below):
- only the booking's owner rates; anyone else's booking is NOT_FOUND;
- only a served booking (CANTEEN_DISH_RATING_NOT_SERVED, 409), within the platform rating
  window: RATING_WINDOW_DAYS after `MEAL.finished_at` (when it was served;
  CANTEEN_DISH_RATING_WINDOW_CLOSED, 409);
- only dishes of that meal: the day's published menu of the booking's slot, the booking's
  pre-selected dishes and its special's dish (CANTEEN_DISH_RATING_DISH_INVALID, 422,
  `details.ids`);
- stars 1-5 (also a CHECK in the database); a dish named twice in one request is refused.
The write is one `INSERT ... ON CONFLICT (booking_id, dish_id) DO UPDATE`: re-rating a dish
changes its stars (and updated_at), within the same window; two submits at once leave one
row per dish, the last one's stars.

Who reads a booking's dish ratings: the owner (with the stars), administrators and auditors
(with the stars); the canteen's operators see the dishes but never a diner's stars (they
know whose booking it is; they see the figures only as averages, `dish_summary`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from app.auth import Principal, ensure_visible
from app.errors import AppError, register_codes
from app.extensions import db, get_row
from app.timeutil import local
from blueprints.canteen import rules
from blueprints.canteen.rules import MEAL
from models.canteen import MEALS, Dish, DishRating, MealBooking, Menu, MenuItem, Special

register_codes({
    "CANTEEN_DISH_RATING_NOT_SERVED": (409, "这餐还没有取餐，不能评价菜品",
                                       "Dish rating: the booking is not served (booked, cancelled or no-show); "
                                       "`details.current`."),
    "CANTEEN_DISH_RATING_WINDOW_CLOSED": (409, "已超过评价期限，不能再评价菜品",
                                          "Dish rating: more than RATING_WINDOW_DAYS since the meal was served; "
                                          "`details.finished_at`, `details.rateable_until`."),
    "CANTEEN_DISH_RATING_DISH_INVALID": (422, "所评菜品不是这餐的菜品",
                                         "Dish rating: `details.ids` lists dish ids that are neither on the day's "
                                         "published menu of the booking's slot nor the booking's pre-selected or "
                                         "special dish."),
})

MIN_STARS, MAX_STARS = 1, 5
MAX_ITEMS = 20
# The menus and production counts show each dish's average over this many days.
SUMMARY_DAYS = 90


def window() -> timedelta:
    return timedelta(days=current_app.config["RATING_WINDOW_DAYS"])


# --- reading -----------------------------------------------------------------------------

def _booking(booking_id: int) -> MealBooking | None:
    return get_row(MealBooking, booking_id)


def get_readable(actor: Principal, booking_id: int) -> MealBooking:
    """The booking for its owner, the canteen's operators, administrators and auditors; else NOT_FOUND."""
    booking = _booking(booking_id)
    ensure_visible(booking is not None and MEAL.is_visible(actor, booking))
    return booking


def sees_stars(actor: Principal, booking: MealBooking) -> bool:
    """A diner's own stars: the diner, administrators and auditors; never the operator."""
    return booking.user_id == actor.user_id or actor.reads_everything


def meal_dish_ids(booking: MealBooking) -> list[int]:
    """The dishes of the booked meal, in menu order: the published menu of the slot and day,
    then the pre-selected dishes and the special's dish not on it."""
    on_menu = list(db.session.execute(
        select(MenuItem.dish_id).join(Menu, Menu.id == MenuItem.menu_id)
        .where(Menu.slot_id == booking.slot_id, Menu.day == booking.day, Menu.status == "published")
        .order_by(MenuItem.sort_order, MenuItem.id)).scalars())
    chosen = [c.get("dish_id") for c in booking.dishes or [] if isinstance(c, dict)]
    if booking.special_id is not None:
        chosen.append(db.session.execute(select(Special.dish_id).where(Special.id == booking.special_id)).scalar())
    return list(dict.fromkeys([*on_menu, *(i for i in chosen if isinstance(i, int))]))


def rating_status(booking: MealBooking, now: datetime | None = None) -> tuple[AppError | None, dict]:
    """(the error rating the booking's dishes would get now, or None; {finished_at, rateable_until})."""
    now = now or rules.clock()
    facts: dict = {"finished_at": None, "rateable_until": None}
    if booking.status != "served":
        return AppError("CANTEEN_DISH_RATING_NOT_SERVED", details={
            "current": booking.status, "current_label": MEAL.label(booking.status)}), facts
    finished = MEAL.finished_at(booking.id) or booking.served_at
    if finished is None:  # served without a timeline row: nothing to count the window from
        return AppError("CANTEEN_DISH_RATING_NOT_SERVED", details={"current": booking.status}), facts
    facts.update(finished_at=finished, rateable_until=finished + window())
    if now > facts["rateable_until"]:
        return AppError("CANTEEN_DISH_RATING_WINDOW_CLOSED", details={
            "finished_at": local(finished).isoformat(),
            "rateable_until": local(facts["rateable_until"]).isoformat()}), facts
    return None, facts


def booking_view(actor: Principal, booking: MealBooking, now: datetime | None = None) -> dict:
    """The booking's dishes with the diner's stars (null for a dish not rated, and for every
    dish when the reader is the canteen's operator), and whether the owner can rate now."""
    rated = {r.dish_id: r for r in db.session.execute(
        select(DishRating).where(DishRating.booking_id == booking.id)).scalars()}
    ids = list(dict.fromkeys([*meal_dish_ids(booking), *rated]))
    dishes = {d.id: d for d in db.session.execute(select(Dish).where(Dish.id.in_(ids))).scalars()} if ids else {}
    stars = sees_stars(actor, booking)
    owner = booking.user_id == actor.user_id
    error, facts = rating_status(booking, now)
    items = []
    for dish_id in ids:
        dish, rating = dishes.get(dish_id), rated.get(dish_id) if stars else None
        items.append({"dish_id": dish_id, "name": dish.name if dish else "", "category": dish.category if dish else "",
                      "stars": rating.stars if rating else None, "rated_at": rating.created_at if rating else None,
                      "updated_at": rating.updated_at if rating else None})
    return {"booking_id": booking.id, "canteen_id": booking.canteen_id, "day": booking.day, "meal": booking.meal,
            "meal_label": MEALS[booking.meal], "status": booking.status,
            "can_rate": owner and error is None, "reason": error.code if owner and error else None,
            "reason_message": error.message if owner and error else None,
            "rateable_until": facts["rateable_until"] if owner else None, "items": items}


def read(actor: Principal, booking_id: int, now: datetime | None = None) -> dict:
    return booking_view(actor, get_readable(actor, booking_id), now)


def dish_summary(dish_ids: Iterable[int], since: datetime | None = None) -> dict[int, dict]:
    """{dish_id: {"average": 2 decimals or None, "count": n}} of the ratings made since
    `since` (all when None), in one grouped query; every id asked for is in the answer."""
    ids = list(dict.fromkeys(dish_ids))
    out = {dish_id: {"average": None, "count": 0} for dish_id in ids}
    if not ids:
        return out
    stmt = (select(DishRating.dish_id, func.avg(DishRating.stars), func.count())
            .where(DishRating.dish_id.in_(ids)).group_by(DishRating.dish_id))
    if since is not None:
        stmt = stmt.where(DishRating.created_at >= since)
    for dish_id, average, count in db.session.execute(stmt):
        out[dish_id] = {"average": round(float(average), 2), "count": count}
    return out


def recent_summary(dish_ids: Iterable[int], now: datetime | None = None) -> dict[int, dict]:
    """`dish_summary` over the last SUMMARY_DAYS days (what the menus and production counts show)."""
    return dish_summary(dish_ids, since=(now or rules.clock()) - timedelta(days=SUMMARY_DAYS))


# --- rating ------------------------------------------------------------------------------

def _invalid(message: str) -> AppError:
    return AppError("VALIDATION_ERROR", message, details={"fields": {"json": {"ratings": [message]}}})


def rate_dishes(actor: Principal, booking_id: int, ratings: Iterable[Mapping], now: datetime | None = None
                ) -> list[DishRating]:
    """Rate (or re-rate) dishes of one of the actor's served bookings (see the module's rules):
    [{"dish_id": 3, "stars": 5}, ...]. Returns every dish rating of the booking. Writes in the
    caller's transaction; the caller commits."""
    now = now or rules.clock()
    booking = _booking(booking_id)
    ensure_visible(booking is not None and booking.user_id == actor.user_id)
    ratings = [(int(r["dish_id"]), int(r["stars"])) for r in ratings]
    if not 1 <= len(ratings) <= MAX_ITEMS:
        raise _invalid(f"请评价 1-{MAX_ITEMS} 道菜品")
    if any(not MIN_STARS <= stars <= MAX_STARS for _dish, stars in ratings):
        raise _invalid(f"星级须为 {MIN_STARS}-{MAX_STARS}")
    if len({dish for dish, _stars in ratings}) != len(ratings):
        raise _invalid("同一菜品在一次提交中只能出现一次")
    error, _facts = rating_status(booking, now)
    if error is not None:
        raise error
    allowed = set(meal_dish_ids(booking))
    bad = [dish for dish, _stars in ratings if dish not in allowed]
    if bad:
        raise AppError("CANTEEN_DISH_RATING_DISH_INVALID", details={"ids": bad})
    stmt = insert(DishRating).values([{"booking_id": booking.id, "dish_id": dish, "user_id": booking.user_id,
                                       "stars": stars} for dish, stars in ratings])
    stmt = stmt.on_conflict_do_update(
        index_elements=["booking_id", "dish_id"],
        set_={"stars": stmt.excluded.stars, "updated_at": func.now()},
        where=DishRating.__table__.c.stars.is_distinct_from(stmt.excluded.stars))
    db.session.execute(stmt)
    return list(db.session.execute(
        select(DishRating).where(DishRating.booking_id == booking.id).order_by(DishRating.id)
        .execution_options(populate_existing=True)).scalars())
