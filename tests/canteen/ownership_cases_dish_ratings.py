"""Foreign-id cases for tests/test_ownership.py: canteen routes (dish ratings).

Rating another diner's booking is refused even to its canteen's operator (only the diner
rates); reading is refused to another canteen's manager (404)."""

from __future__ import annotations

from datetime import date, datetime, time

from app.extensions import db
from app.timeutil import SHANGHAI
from models.canteen import DishRating, MealBooking, Menu, MenuItem
from models.platform import OrderTransition
from tests.canteen.conftest import build_kitchen
from tests.test_ownership import case

DAY = date(2099, 3, 2)  # a Monday


def _served(make):
    """A kitchen with a published lunch menu and a diner's served lunch (rated 4 stars)."""
    kitchen = build_kitchen(make)
    diner = make.user()
    menu = Menu(slot_id=kitchen.lunch.id, day=DAY, status="published")
    menu.items = [MenuItem(dish_id=kitchen.dishes[0].id, sort_order=0)]
    served_at = datetime.combine(DAY, time(12), SHANGHAI)
    booking = MealBooking(user_id=diner.id, canteen_id=kitchen.canteen.id, slot_id=kitchen.lunch.id, meal="lunch",
                          day=DAY, status="served", served_at=served_at)
    db.session.add_all([menu, booking])
    db.session.flush()
    db.session.add(OrderTransition(order_type="meal_booking", order_id=booking.id, from_state="booked",
                                   to_state="served", transition="serve", at=served_at))
    db.session.add(DishRating(booking_id=booking.id, dish_id=kitchen.dishes[0].id, user_id=diner.id, stars=4))
    db.session.commit()
    return kitchen, booking


@case("POST", "/api/v1/canteen/bookings/<int:booking_id>/dish-ratings")
def _dish_ratings_post(make):
    kitchen, booking = _served(make)
    booking_id, dish_id = booking.id, kitchen.dishes[0].id

    def check():
        assert db.session.query(DishRating.stars).filter_by(booking_id=booking_id).all() == [(4,)]
    return (make.headers(kitchen.manager), f"/api/v1/canteen/bookings/{booking_id}/dish-ratings",
            {"ratings": [{"dish_id": dish_id, "stars": 1}]}, check)


@case("GET", "/api/v1/canteen/bookings/<int:booking_id>/dish-ratings")
def _dish_ratings_get(make):
    _kitchen, booking = _served(make)
    other = build_kitchen(make)
    return (make.headers(other.manager), f"/api/v1/canteen/bookings/{booking.id}/dish-ratings", None,
            lambda: None)
