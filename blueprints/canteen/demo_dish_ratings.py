"""Demo data for dish ratings (菜品评价), after demo_booking.seed served the demo staff's past
lunches at 机关第一食堂: the diners of a few served lunches rate two or three dishes of that
day's menu (stars mostly 4-5, some lower), through the service like the API. Idempotent:
adds nothing when the canteen's dishes have ratings already."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.auth import Principal
from app.errors import AppError
from app.extensions import db
from blueprints.canteen import dish_ratings
from blueprints.canteen.demo_booking import CANTEEN
from blueprints.canteen.rules import MEAL
from models import User
from models.canteen import Canteen, Dish, DishRating, MealBooking

MAX_BOOKINGS = 8
STARS = (5, 4, 5, 3, 4, 5, 2, 4, 5, 4)


def seed() -> None:
    canteen = db.session.execute(select(Canteen).where(Canteen.name == CANTEEN)).scalar_one_or_none()
    if canteen is None:
        return
    if db.session.execute(select(DishRating.id).join(Dish, Dish.id == DishRating.dish_id)
                          .where(Dish.canteen_id == canteen.id).limit(1)).scalar():
        return
    served = db.session.execute(select(MealBooking).where(
        MealBooking.canteen_id == canteen.id, MealBooking.status == "served")
        .order_by(MealBooking.day.desc(), MealBooking.id)).scalars()
    made, n = 0, 0
    for booking in served:
        if made >= MAX_BOOKINGS:
            break
        dish_ids = dish_ratings.meal_dish_ids(booking)[:2 + made % 2]
        finished = MEAL.finished_at(booking.id) or booking.served_at
        if not dish_ids or finished is None:
            continue
        ratings = []
        for dish_id in dish_ids:
            ratings.append({"dish_id": dish_id, "stars": STARS[n % len(STARS)]})
            n += 1
        actor = Principal.for_user(db.session.get(User, booking.user_id))
        try:
            dish_ratings.rate_dishes(actor, booking.id, ratings, now=finished + timedelta(minutes=30))
        except AppError:
            continue
        made += 1
    db.session.flush()
