"""Fixtures of the ratings tests: orders of the test-only SAMPLE type (tests/platform/orders.py,
rateable in state "done", contractor = order.company_id), driven to "done" through its
lifecycle by a guard of the order's company, with the finish time movable (`finish_at`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from app.auth import Principal
from app.extensions import db
from app.timeutil import utcnow
from models.platform import OrderTransition
from models.ratings import Rating, RatingFollowup
from tests.platform.conftest import _empty_sample_table, sample_table  # noqa: F401  (fixtures)
from tests.platform.orders import SAMPLE, SampleOrder

API = "/api/v1"


def finish_at(order: SampleOrder, when: datetime) -> None:
    """Pretend the order finished at `when` (the time of its transition into "done")."""
    db.session.execute(update(OrderTransition).where(
        OrderTransition.order_type == SAMPLE.order_type, OrderTransition.order_id == order.id,
        OrderTransition.to_state == "done").values(at=when))
    db.session.commit()


def rating_created_at(rating_id: int, when: datetime) -> None:
    db.session.execute(update(Rating).where(Rating.id == rating_id).values(created_at=when))
    db.session.commit()


def fresh_rating(rating_id: int) -> Rating:
    db.session.expire_all()
    return db.session.get(Rating, rating_id)


def followup_of(rating_id: int) -> RatingFollowup | None:
    db.session.expire_all()
    return db.session.query(RatingFollowup).filter_by(rating_id=rating_id).one_or_none()


class Orders:
    """Sample orders: order(owner, company, state="done", finished_ago=timedelta(hours=1))."""

    def __init__(self, make):
        self.make = make
        self._guards: dict[int, Principal] = {}

    def guard(self, company) -> Principal:
        if company.id not in self._guards:
            self._guards[company.id] = Principal.for_user(self.make.user("guard", company=company))
        return self._guards[company.id]

    def order(self, owner, company, state: str = "done", finished_ago: timedelta | None = timedelta(hours=1),
              item: str = "套餐A") -> SampleOrder:
        order = SampleOrder(user_id=owner.id, company_id=company.id if company else None, item=item, qty=1,
                            status="booked")
        db.session.add(order)
        SAMPLE.record_creation(order, Principal.for_user(owner))
        if state in ("inside", "done"):
            SAMPLE.transition(order, "check_in", self.guard(company))
        if state == "done":
            SAMPLE.transition(order, "check_out", self.guard(company))
        if state == "cancelled":
            SAMPLE.transition(order, "cancel", Principal.for_user(owner))
        db.session.commit()
        if state == "done" and finished_ago is not None:
            finish_at(order, utcnow() - finished_ago)
        return order


@pytest.fixture
def orders(make):
    return Orders(make)


@pytest.fixture
def company(make):
    return make.company("security", name="卫安保安")


@pytest.fixture
def rater(make):
    return make.user(name="评价人甲", department=make.department(name="综合科"))


def rate(client, headers, order, stars=5, **extra):
    body = {"service_type": "sample", "order_id": order.id, "stars": stars, **extra}
    return client.post(f"{API}/ratings", json=body, headers=headers)
