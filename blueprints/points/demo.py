"""Demo data: a few weeks of points for the first demo staff members, through the service
(so the ledger, the accounts and the caps are what real use makes them): clean-plate
check-ins, ratings, an adopted suggestion and a waste-free week, one redemption (spend), one
withdrawn rating (reverse), an administrator's adjustment and an expiry of points earned
more than POINTS_EXPIRE_MONTHS ago — every kind of row shows.

Idempotent by construction: every event has a fixed demo reference ("demo:..."), and each
award fits its rule's cap in its own (back-dated) period, so a second run pays nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.demo import DEMO_ADMIN, STAFF
from app.extensions import db
from app.timeutil import utcnow
from blueprints.points import service
from models import User


def _user(employee_no: str) -> User | None:
    return db.session.execute(select(User).where(User.employee_no == employee_no)).scalar_one_or_none()


def _events(no: str, index: int, now: datetime) -> list[tuple[datetime, str, str]]:
    """(when, rule, reference) of one person's earning events, oldest first. At most one lunch
    and one dinner check-in fall on any day (cap 4 = 2 × 2) and one rating a day."""
    events = []
    for day in range(1, 11 + index * 3):
        when = now - timedelta(days=day)
        events.append((when, "clean_plate", f"demo:clean_plate:{no}:{day}:lunch"))
        if day % 2:
            events.append((when + timedelta(hours=6), "clean_plate", f"demo:clean_plate:{no}:{day}:dinner"))
    events += [(now - timedelta(days=n, hours=1), "rating", f"demo:rating:{no}:{n}") for n in (1, 2, 3)]
    events.append((now - timedelta(days=8, hours=2), "waste_free_week", f"demo:waste_free_week:{no}:1"))
    if index == 0:
        events.append((now - timedelta(days=2, hours=3), "suggestion_adopted", f"demo:suggestion:{no}:1"))
    return sorted(events)


def seed_points() -> None:
    if service.get_rule("clean_plate") is None:  # the rules come with migration 0007_points
        return
    now = utcnow()
    months = current_app.config["POINTS_EXPIRE_MONTHS"]
    for index, (no, *_) in enumerate(STAFF[:4]):
        user = _user(no)
        if user is None:
            continue
        if index == 3 and months:
            # Earned long ago, past its expiry now: expired below, as the sweep would.
            long_ago = now - timedelta(days=31 * (months + 2))
            service.award(user.id, "clean_plate", f"demo:clean_plate:{no}:old", now=long_ago)
        for when, rule, reference in _events(no, index, now):
            service.award(user.id, rule, reference, now=when)
        if index == 0:
            service.spend(user.id, 20, f"demo:redemption:{no}:1", note="兑换：环保购物袋")
        elif index == 1:
            service.reverse_reference(f"demo:rating:{no}:1", reason="评价已撤回")
        elif index == 2:
            admin = _user(DEMO_ADMIN[0])
            if admin is not None:
                service.adjust(user.id, 10, actor=admin, reason="积分活动补录", reference=f"demo:adjust:{no}:1")
        elif index == 3:
            service.expire_user(user.id, now)
    db.session.flush()
