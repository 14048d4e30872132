"""Demo data for ratings: the demo staff rate some of their finished orders.

Generic over order types: for every lifecycle with rateable states, finished orders (in a
rateable state, owned by a demo staff member) are rated, up to PER_TYPE ratings per type, with
a fixed pattern of stars, tags and comments; the low ones open follow-ups, and the first
follow-up is closed with an answer so the whole path can be seen. Until a domain with
finished demo orders exists, this step does nothing. Idempotent:
a type with PER_TYPE ratings gets no more, an order is rated once (UNIQUE per order), and one
follow-up is closed only while none is.
The rating window is not checked here (demo orders may be older than it); the comments are
fixed texts, so they are not sent to WeChat's content check (verdict "skipped").
"""

from __future__ import annotations

from sqlalchemy import inspect, select

from app.auth import Principal
from app.demo import DEMO_ADMIN, STAFF
from app.extensions import db
from blueprints.ratings import service
from models import User
from models.ratings import Rating, RatingFollowup

PER_TYPE = 6
# (stars, comment, anonymous), used in turn
PATTERN = [
    (5, "服务很周到，点赞！", False),
    (4, None, False),
    (2, "等候时间太长，希望改进。", False),
    (5, None, True),
    (3, "总体还可以。", False),
    (1, "问题没有解决，态度也不好。", True),
]
DEMO_REPLY = ("已约谈服务单位负责人，责令限期整改并加强人员培训。", "感谢您的反馈，问题已整改，欢迎继续监督。")


def seed_ratings() -> None:
    # Order types whose table exists (a test-only type registers a lifecycle without one).
    tables = set(inspect(db.session.connection()).get_table_names())
    types = {name: lc for name, lc in service.rateable_types().items() if lc.model.__tablename__ in tables}
    if not types:
        return  # no order type can be rated yet: nothing to seed
    staff_ids = db.session.execute(select(User.id).where(User.employee_no.in_([no for no, *_ in STAFF]))
                                   ).scalars().all()
    if not staff_ids:
        return
    for service_type, lifecycle in sorted(types.items()):
        model = lifecycle.model
        rated = select(Rating.order_id).where(Rating.service_type == service_type)
        done = len(db.session.execute(rated).all())
        if done >= PER_TYPE:
            continue
        orders = db.session.execute(
            select(model).where(getattr(model, lifecycle.status_column).in_(lifecycle.rateable),
                                getattr(model, lifecycle.owner_column).in_(staff_ids), model.id.not_in(rated))
            .order_by(model.id).limit(PER_TYPE - done)).scalars().all()
        for n, order in enumerate(orders, start=done):
            stars, comment, anonymous = PATTERN[n % len(PATTERN)]
            tags = service.tags_for(service_type)[:2] if stars >= 4 else service.tags_for(service_type)[-2:]
            service._insert_rating(lifecycle, order, lifecycle.owner_of(order), stars, tags, comment, anonymous,
                                   "skipped" if comment else None)
    db.session.flush()
    if db.session.execute(select(RatingFollowup.id).where(RatingFollowup.status == "closed")).first() is None:
        first_open = db.session.execute(select(RatingFollowup.id).where(RatingFollowup.status == "open")
                                        .order_by(RatingFollowup.id)).scalar()
        if first_open is not None:
            admin = _admin()
            if admin is not None:
                service.close_followup(admin, first_open, *DEMO_REPLY)


def _admin() -> Principal | None:
    user = db.session.execute(select(User).where(User.employee_no == DEMO_ADMIN[0])).scalar_one_or_none()
    return Principal.for_user(user) if user is not None else None
