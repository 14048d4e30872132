"""Foreign-id cases for tests/test_ownership.py: canteen routes (menus).

The intruder is mostly the manager of another canteen-operator company: canteens are public
(their writes answer 403), dishes, draft menus and specials are not (404). Administrator-only
routes are tried by a canteen manager, and a retired canteen by a staff member."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from app.extensions import db
from app.timeutil import SHANGHAI
from models.canteen import Canteen, Dish, MealSlot, Menu, Special
from tests.canteen.conftest import build_kitchen
from tests.test_ownership import case

DAY = datetime(2099, 3, 2).date()  # a Monday


def _pair(make):
    return build_kitchen(make), build_kitchen(make)


def _no_dish_named(name: str):
    def check():
        assert db.session.query(Dish).filter_by(name=name).count() == 0
    return check


@case("GET", "/api/v1/canteen/canteens/<int:canteen_id>")
def _canteen_get(make):
    kitchen = build_kitchen(make)
    kitchen.canteen.is_active = False
    db.session.commit()
    return make.headers(make.user()), f"/api/v1/canteen/canteens/{kitchen.canteen.id}", None, lambda: None


@case("PUT", "/api/v1/canteen/canteens/<int:canteen_id>")
def _canteen_put(make):
    kitchen = build_kitchen(make)
    canteen_id, name = kitchen.canteen.id, kitchen.canteen.name

    def check():
        assert db.session.get(Canteen, canteen_id).name == name
    return make.headers(kitchen.manager), f"/api/v1/canteen/canteens/{canteen_id}", {"name": "改名"}, check


@case("POST", "/api/v1/canteen/canteens/<int:canteen_id>/slots")
def _slot_post(make):
    kitchen = build_kitchen(make)
    canteen_id = kitchen.canteen.id

    def check():
        assert db.session.query(MealSlot).filter_by(canteen_id=canteen_id).count() == 3
    return make.headers(kitchen.manager), f"/api/v1/canteen/canteens/{canteen_id}/slots", {
        "meal": "lunch", "serve_start": "11:00", "serve_end": "12:00", "cutoff_minutes": 60}, check


@case("PUT", "/api/v1/canteen/slots/<int:slot_id>")
def _slot_put(make):
    kitchen = build_kitchen(make)
    slot_id = kitchen.lunch.id

    def check():
        assert db.session.get(MealSlot, slot_id).cutoff_minutes == 120
    return make.headers(kitchen.manager), f"/api/v1/canteen/slots/{slot_id}", {"cutoff_minutes": 10}, check


@case("GET", "/api/v1/canteen/canteens/<int:canteen_id>/dishes")
def _dishes_get(make):
    mine, theirs = _pair(make)
    return make.headers(theirs.manager), f"/api/v1/canteen/canteens/{mine.canteen.id}/dishes", None, lambda: None


@case("POST", "/api/v1/canteen/canteens/<int:canteen_id>/dishes")
def _dishes_post(make):
    mine, theirs = _pair(make)
    return (make.headers(theirs.manager), f"/api/v1/canteen/canteens/{mine.canteen.id}/dishes",
            {"name": "外来菜"}, _no_dish_named("外来菜"))


@case("GET", "/api/v1/canteen/canteens/<int:canteen_id>/specials")
def _specials_get(make):
    mine, theirs = _pair(make)
    return (make.headers(theirs.manager), f"/api/v1/canteen/canteens/{mine.canteen.id}/specials?from={DAY}&to={DAY}",
            None, lambda: None)


@case("PUT", "/api/v1/canteen/dishes/<int:dish_id>")
def _dish_put(make):
    mine, theirs = _pair(make)
    dish_id = mine.dishes[0].id

    def check():
        assert db.session.get(Dish, dish_id).name == "红烧肉"
    return make.headers(theirs.manager), f"/api/v1/canteen/dishes/{dish_id}", {"name": "改名"}, check


@case("DELETE", "/api/v1/canteen/dishes/<int:dish_id>")
def _dish_delete(make):
    mine, theirs = _pair(make)
    dish_id = mine.dishes[1].id

    def check():
        assert db.session.get(Dish, dish_id) is not None and db.session.get(Dish, dish_id).is_active
    return make.headers(theirs.manager), f"/api/v1/canteen/dishes/{dish_id}", None, check


@case("POST", "/api/v1/canteen/menus/<int:menu_id>/publish")
def _menu_publish(make):
    mine, theirs = _pair(make)
    menu = Menu(slot_id=mine.lunch.id, day=DAY, status="draft")
    db.session.add(menu)
    db.session.commit()
    menu_id = menu.id

    def check():
        assert db.session.get(Menu, menu_id).status == "draft"
    return make.headers(theirs.manager), f"/api/v1/canteen/menus/{menu_id}/publish", None, check


def _special(kitchen) -> int:
    special = Special(slot_id=kitchen.lunch.id, day=DAY, kind="low_price", name="每月低价菜", portions_total=50,
                      portions_left=50, opens_at=datetime.combine(DAY - timedelta(days=1), time(12), SHANGHAI))
    db.session.add(special)
    db.session.commit()
    return special.id


@case("PUT", "/api/v1/canteen/specials/<int:special_id>")
def _special_put(make):
    mine, theirs = _pair(make)
    special_id = _special(mine)

    def check():
        stored = db.session.get(Special, special_id)
        assert (stored.portions_total, stored.portions_left) == (50, 50)
    return make.headers(theirs.manager), f"/api/v1/canteen/specials/{special_id}", {"portions_total": 1}, check


@case("POST", "/api/v1/canteen/specials/<int:special_id>/deactivate")
def _special_deactivate(make):
    mine, theirs = _pair(make)
    special_id = _special(mine)

    def check():
        assert db.session.get(Special, special_id).is_active
    return make.headers(theirs.manager), f"/api/v1/canteen/specials/{special_id}/deactivate", None, check
