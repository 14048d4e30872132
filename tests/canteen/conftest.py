"""Canteen test data shared by the booking, menu and anti-waste tests (additive edits only).

`kitchen` builds a canteen run by a canteen-operator company with three slots:
breakfast 07:00-08:30 (cut-off 20:00 the evening before, every day), lunch 11:30-13:00 and
dinner 17:30-19:00 (cut-off 120 minutes before, workdays by the calendar), plus a few dishes,
a manager and a counter worker. Tests pass fixed times (`now=`) to services; the calendar
table is empty in tests, so workdays are Monday to Friday."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

import pytest

import blueprints.canteen.rules  # noqa: F401  (registers the meal_booking lifecycle)
from app.extensions import db
from models import Company, User
from models.canteen import Canteen, Dish, MealSlot


@dataclass
class Kitchen:
    canteen: Canteen
    company: Company
    breakfast: MealSlot
    lunch: MealSlot
    dinner: MealSlot
    dishes: list[Dish]
    manager: User
    worker: User


def build_kitchen(make, name: str | None = None) -> Kitchen:
    company = make.company("canteen_operator")
    canteen = Canteen(name=name or f"机关食堂{company.id}", company_id=company.id)
    db.session.add(canteen)
    db.session.flush()
    breakfast = MealSlot(canteen_id=canteen.id, meal="breakfast", serve_start=time(7, 0), serve_end=time(8, 30),
                         cutoff_kind="previous_day", cutoff_time=time(20, 0), serving_days="every_day")
    lunch = MealSlot(canteen_id=canteen.id, meal="lunch", serve_start=time(11, 30), serve_end=time(13, 0),
                     cutoff_kind="before_start", cutoff_minutes=120)
    dinner = MealSlot(canteen_id=canteen.id, meal="dinner", serve_start=time(17, 30), serve_end=time(19, 0),
                      cutoff_kind="before_start", cutoff_minutes=120)
    dishes = [Dish(canteen_id=canteen.id, name=n, category=c, portions=p, price_cents=pr)
              for n, c, p, pr in (("红烧肉", "荤菜", ["full", "half"], 800), ("清炒时蔬", "素菜", ["full"], None),
                                  ("米饭", "主食", ["full", "half"], None))]
    db.session.add_all([breakfast, lunch, dinner, *dishes])
    db.session.commit()
    manager = make.user("canteen_manager", company=company, scope=("company", company.id))
    worker = make.user("canteen_staff", company=company, scope=("canteen", canteen.id))
    return Kitchen(canteen, company, breakfast, lunch, dinner, dishes, manager, worker)


@pytest.fixture
def kitchen(make) -> Kitchen:
    return build_kitchen(make)


@pytest.fixture
def booking_clock(monkeypatch):
    """Set the clock the booking routes and the pickup scan check use (booking tests):
    booking_clock(aware datetime)."""
    from blueprints.canteen import rules

    def set_clock(moment):
        monkeypatch.setattr(rules, "clock", lambda: moment)
    return set_clock
