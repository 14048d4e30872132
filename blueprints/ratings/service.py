"""Ratings of finished orders and the follow-ups of low ratings (plain functions, no `request`).

Any order type whose Lifecycle (app/lifecycle.py) declares `rateable` states can be rated:

    from blueprints.ratings import service as ratings
    rating = ratings.create_rating(principal, "repair", ticket.id, stars=2, tags=["响应慢"],
                                   comment="等了两天才来", anonymous=False)
    ratings.summary(service_type="repair", company_id=3, since=..., until=...)
    # -> {"count": 12, "average": 4.25, "distribution": {1: 0, 2: 1, 3: 1, 4: 4, 5: 6}, "low_count": 1}

Rules (each with its error code, models/ratings.py):
- only the order's owner rates it (`Lifecycle.owner_of`): someone who cannot see the order gets
  NOT_FOUND, someone who can see it but does not own it (an administrator, the contractor's
  guard) RATING_NOT_OWNER (403);
- only in a rateable state (RATING_ORDER_NOT_FINISHED) and within RATING_WINDOW_DAYS of
  `Lifecycle.finished_at` (RATING_WINDOW_CLOSED);
- once per order: UNIQUE (service_type, order_id) in the database; the insert is
  `ON CONFLICT DO NOTHING`, so of two submits at once (any processes) one creates the rating and
  the other gets RATING_EXISTS (409);
- tags from the service type's list (RATING_TAG_UNKNOWN), at most MAX_TAGS; a comment is
  required at LOW_STARS or fewer (RATING_COMMENT_REQUIRED) and passes WeChat content security
  before it is stored (CONTENT_RISKY; a "review" verdict is stored and flagged for admins);
- the rater edits it within RATING_EDIT_HOURS (RATING_EDIT_CLOSED afterwards).

Contractors see their company's ratings without any trace of the rater (`received_query`);
administrators and auditors see the rater's name unless the rating is anonymous ("匿名").

A rating of LOW_STARS or fewer opens a follow-up (`RatingFollowup`, lifecycle FOLLOWUP) in the
same transaction, also when an edit lowers the stars and none exists yet. Administrators start
it and close it with the action taken and the reply; closing notifies the rater
(template "rating_followup_reply") in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import exists, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import selectinload

from app import audit
from app.auth import Principal, ensure_visible
from app.errors import AppError
from app.extensions import db
from app.lifecycle import LIFECYCLES, SYSTEM, Lifecycle, Transition
from app.notify import notify, register_templates
from app.timeutil import SHANGHAI, utcnow
from app.workcalendar import add_working_hours, working_hours_per_day
from blueprints.points import service as points
from miniapp_api import security
from models import User
from models.ratings import (
    COMMENT_MAX,
    LOW_STARS,
    MAX_TAGS,
    TAG_MAX_LENGTH,
    Rating,
    RatingFollowup,
)

register_templates({
    # The answer to a low rating (blueprints/ratings: a follow-up closed by an administrator).
    # Context: service, stars, rated_at, reply, replied_at, rating_id, followup_id.
    "rating_followup_reply": {
        "template_id": "",
        "title": "您对{service}的评价已有答复",
        "body": "您于{rated_at:%m月%d日}对{service}的评价（{stars}星）已办结。答复：{reply}",
        "page": "pages/ratings/detail?id={rating_id}",
        "fields": {"thing1": "{service}", "phrase2": "已办结", "thing3": "{reply}", "time4": "{replied_at}"},
        "long_term": False,
    },
})

ANONYMOUS = "匿名"
# A follow-up not closed within this many working days (of WORK_HOURS on the working
# calendar) is overdue.
FOLLOWUP_DUE_WORKING_DAYS = 3

FOLLOWUP = Lifecycle(
    order_type="rating_followup", model=RatingFollowup,
    states={"open": "待处理", "in_progress": "处理中", "closed": "已办结"},
    transitions=[
        Transition("start", source=("open",), target="in_progress", roles=("admin",), label="开始处理"),
        Transition("close", source=("open", "in_progress"), target="closed", roles=("admin",), label="办结"),
    ],
    title="差评回访",
    # The rater (owner column user_id) and whoever reads everything; never a contractor.
    visible=lambda actor, followup: followup.user_id == actor.user_id or actor.reads_everything,
)

# --- tags ----------------------------------------------------------------------------------

# Offered for every service type, after the type's own tags.
GENERAL_TAGS: tuple[str, ...] = ("服务热情", "响应及时", "专业规范", "环境整洁",
                                 "态度冷淡", "响应慢", "问题未解决", "环境脏乱")
# Each service type's own tags, by order type (a type not listed here offers GENERAL_TAGS
# only). RATING_TAGS overrides entry by entry: {"repair": [...]} replaces the repair tags,
# {"*": [...]} replaces the general list.
DEFAULT_TAGS: dict[str, tuple[str, ...]] = {
    "meal_booking": ("菜品丰富", "口味好", "分量足", "出餐快", "口味差", "菜品单一", "分量不足", "排队久"),
    "room_booking": ("设备好用", "会场整洁", "会务周到", "设备故障", "会场不洁", "服务不到位"),
    "visit": ("登记便捷", "引导清楚", "等候过久", "核验繁琐"),
    "parking": ("车位充足", "引导清楚", "车位难找", "出入不便"),
    "repair": ("上门准时", "修得彻底", "文明施工", "上门迟到", "没有修好", "遗留垃圾"),
    "redemption": ("兑换方便", "商品满意", "商品有瑕疵", "兑换排队久"),
}


def check_tag_config(config: Mapping) -> None:
    """RATING_TAGS must map order types (or "*") to lists of tags (strings of 1–20 characters,
    no repeats); raises ValueError naming the problem (the app refuses to start)."""
    overrides = config.get("RATING_TAGS") or {}
    if not isinstance(overrides, Mapping):
        raise ValueError("RATING_TAGS must map order types (or \"*\") to lists of tags")
    for key, tags in overrides.items():
        if not isinstance(key, str) or isinstance(tags, str) or not isinstance(tags, list | tuple):
            raise ValueError(f"RATING_TAGS[{key!r}] must be a list of tags")
        for tag in tags:
            if not isinstance(tag, str) or not 1 <= len(tag) <= TAG_MAX_LENGTH or tag != tag.strip():
                raise ValueError(f"RATING_TAGS[{key!r}]: {tag!r} is not a tag of 1-{TAG_MAX_LENGTH} characters")
        if len(set(tags)) != len(tags):
            raise ValueError(f"RATING_TAGS[{key!r}] repeats a tag")


def tags_for(service_type: str) -> list[str]:
    """The tags a rating of `service_type` may carry: the type's own, then the general ones."""
    overrides = current_app.config.get("RATING_TAGS") or {}
    own = overrides.get(service_type, DEFAULT_TAGS.get(service_type, ()))
    general = overrides.get("*", GENERAL_TAGS)
    return list(dict.fromkeys((*own, *general)))


def validate_tags(service_type: str, tags: Iterable[str]) -> list[str]:
    """The tags, repeats dropped and order kept; RATING_TAG_UNKNOWN for a tag not offered,
    VALIDATION_ERROR for more than MAX_TAGS."""
    chosen = list(dict.fromkeys(tags))
    allowed = tags_for(service_type)
    unknown = [t for t in chosen if t not in allowed]
    if unknown:
        raise AppError("RATING_TAG_UNKNOWN", details={"unknown": unknown, "allowed": allowed})
    if len(chosen) > MAX_TAGS:
        raise AppError("VALIDATION_ERROR", f"最多选择 {MAX_TAGS} 个标签",
                       details={"fields": {"json": {"tags": [f"最多选择 {MAX_TAGS} 个标签"]}}})
    return chosen


# --- reading helpers ---------------------------------------------------------------------

def rateable_types() -> dict[str, Lifecycle]:
    return {name: lc for name, lc in LIFECYCLES.items() if lc.rateable}


def rateable_lifecycle(service_type: str) -> Lifecycle:
    """The lifecycle of a service type that can be rated; RATING_SERVICE_TYPE_UNKNOWN otherwise."""
    lifecycle = LIFECYCLES.get(service_type)
    if lifecycle is None or not lifecycle.rateable:
        raise AppError("RATING_SERVICE_TYPE_UNKNOWN", details={"service_types": sorted(rateable_types())})
    return lifecycle


def service_title(service_type: str) -> str:
    lifecycle = LIFECYCLES.get(service_type)
    return lifecycle.title if lifecycle is not None else service_type


def contractor_companies(actor: Principal) -> set[int]:
    """The companies whose staff the actor is (any role scoped to a company)."""
    return {scope_id for _role, kind, scope_id in actor.grants if kind == "company" and scope_id is not None}


def window() -> timedelta:
    return timedelta(days=current_app.config["RATING_WINDOW_DAYS"])


def edit_window() -> timedelta:
    return timedelta(hours=current_app.config["RATING_EDIT_HOURS"])


def editable_until(rating: Rating) -> datetime:
    return rating.created_at + edit_window()


def is_editable(rating: Rating, now: datetime | None = None) -> bool:
    return (now or utcnow()) <= editable_until(rating)


def _visible_order(actor: Principal, lifecycle: Lifecycle, order_id: int):
    order = db.session.get(lifecycle.model, order_id)
    ensure_visible(order is not None and lifecycle.is_visible(actor, order))
    return order


def _existing_rating_id(service_type: str, order_id: int) -> int | None:
    return db.session.execute(select(Rating.id).where(
        Rating.service_type == service_type, Rating.order_id == order_id)).scalar()


def _why_not_rateable(actor: Principal, lifecycle: Lifecycle, order, now: datetime) -> tuple[AppError | None, dict]:
    """(the error a rating of `order` by `actor` would get now, or None; what is known:
    finished_at, rateable_until, rating_id)."""
    facts: dict = {"finished_at": None, "rateable_until": None, "rating_id": None}
    state = lifecycle.state_of(order)
    finished = lifecycle.finished_at(order.id) if state in lifecycle.rateable else None
    if finished is not None:
        facts.update(finished_at=finished, rateable_until=finished + window())
    facts["rating_id"] = _existing_rating_id(lifecycle.order_type, order.id)
    if lifecycle.owner_of(order) != actor.user_id:
        return AppError("RATING_NOT_OWNER"), facts
    if finished is None:
        return AppError("RATING_ORDER_NOT_FINISHED", details={
            "current": state, "current_label": lifecycle.label(state),
            "rateable_states": list(lifecycle.rateable)}), facts
    if facts["rating_id"] is not None:
        return AppError("RATING_EXISTS", details={"rating_id": facts["rating_id"]}), facts
    if now > facts["rateable_until"]:
        return AppError("RATING_WINDOW_CLOSED", details={
            "finished_at": finished.isoformat(), "rateable_until": facts["rateable_until"].isoformat()}), facts
    return None, facts


def _clean_comment(comment: str | None) -> str | None:
    if comment is None:
        return None
    comment = comment.strip()
    if len(comment) > COMMENT_MAX:
        raise AppError("VALIDATION_ERROR", f"评价内容不能超过 {COMMENT_MAX} 字",
                       details={"fields": {"json": {"comment": [f"最多 {COMMENT_MAX} 字"]}}})
    return comment or None


def _require_comment(stars: int, comment: str | None) -> None:
    if stars <= LOW_STARS and not comment:
        raise AppError("RATING_COMMENT_REQUIRED", details={"stars": stars, "required_at_or_below": LOW_STARS})


def _check_comment(user_id: int, comment: str | None) -> str | None:
    """WeChat content security for a comment others will read: the verdict ("pass", "review",
    "skipped"); raises CONTENT_RISKY (422) / CONTENT_CHECK_UNAVAILABLE (503)."""
    if not comment:
        return None
    return security.check_text(user_id, comment, security.SCENE_COMMENT)


# --- rating --------------------------------------------------------------------------------

def options(actor: Principal, service_type: str, order_id: int | None = None) -> dict:
    """What the rating page needs: the tags and limits of the service type and, for one of the
    caller's orders, whether it can still be rated (and until when), or why not."""
    lifecycle = rateable_lifecycle(service_type)
    result = {
        "service_type": service_type, "service_title": lifecycle.title, "tags": tags_for(service_type),
        "max_tags": MAX_TAGS, "comment_max": COMMENT_MAX, "comment_required_at_or_below": LOW_STARS,
        "window_days": current_app.config["RATING_WINDOW_DAYS"],
        "edit_hours": current_app.config["RATING_EDIT_HOURS"],
    }
    if order_id is not None:
        order = _visible_order(actor, lifecycle, order_id)
        error, facts = _why_not_rateable(actor, lifecycle, order, utcnow())
        owner = lifecycle.owner_of(order) == actor.user_id
        result.update(order_id=order.id, can_rate=error is None, reason=error.code if error else None,
                      reason_message=error.message if error else None, finished_at=facts["finished_at"],
                      rateable_until=facts["rateable_until"],
                      # Whether someone rated an order is the rater's business alone: a contractor who
                      # sees the order must not learn it (it would undo the anonymity of the rating).
                      already_rated=facts["rating_id"] is not None if owner else None,
                      rating_id=facts["rating_id"] if owner else None)
    return result


def create_rating(actor: Principal, service_type: str, order_id: int, stars: int, tags: Iterable[str] = (),
                  comment: str | None = None, anonymous: bool = False) -> Rating:
    """Rate one of the actor's finished orders (see the module's rules); opens a follow-up for a
    low rating. Writes in the caller's transaction; the caller commits."""
    lifecycle = rateable_lifecycle(service_type)
    order = _visible_order(actor, lifecycle, order_id)
    error, _facts = _why_not_rateable(actor, lifecycle, order, utcnow())
    if error is not None:
        raise error
    chosen = validate_tags(service_type, tags)
    comment = _clean_comment(comment)
    _require_comment(stars, comment)
    verdict = _check_comment(actor.user_id, comment)
    return _insert_rating(lifecycle, order, actor.user_id, stars, chosen, comment, anonymous, verdict)


def _insert_rating(lifecycle: Lifecycle, order, user_id: int, stars: int, tags: list[str],
                   comment: str | None, anonymous: bool, verdict: str | None) -> Rating:
    """INSERT ... ON CONFLICT DO NOTHING: the database decides who rated first."""
    stmt = (insert(Rating).values(
        service_type=lifecycle.order_type, order_id=order.id, company_id=lifecycle.contractor_of(order),
        user_id=user_id, stars=stars, tags=tags, comment=comment, anonymous=anonymous, content_check=verdict)
        .on_conflict_do_nothing(index_elements=["service_type", "order_id"]).returning(Rating.id))
    rating_id = db.session.execute(stmt).scalar()
    if rating_id is None:  # another request (any process) rated the order first
        raise AppError("RATING_EXISTS", details={"rating_id": _existing_rating_id(lifecycle.order_type, order.id)})
    rating = db.session.get(Rating, rating_id)
    if rating.low:
        open_followup(rating)
    # Rating a service earns points (rule "rating", capped per day), once per rating.
    points.award(user_id, "rating", f"rating:{rating.id}")
    return rating


def get_rating(actor: Principal, rating_id: int) -> Rating:
    """The rater's own rating, or any rating for administrators and auditors; NOT_FOUND to
    everyone else (contractors included: a rating's detail names its rater)."""
    rating = db.session.get(Rating, rating_id)
    ensure_visible(rating is not None and (rating.user_id == actor.user_id or actor.reads_everything))
    return rating


def edit_rating(actor: Principal, rating_id: int, changes: Mapping) -> Rating:
    """The rater changes stars, tags, comment or the anonymous flag within RATING_EDIT_HOURS.
    Lowering the stars to LOW_STARS or fewer opens a follow-up if none exists; raising them
    closes nothing. The row is locked, so concurrent edits apply one after the other."""
    rating = db.session.execute(select(Rating).where(Rating.id == rating_id).with_for_update()
                                .execution_options(populate_existing=True)).scalar_one_or_none()
    ensure_visible(rating is not None and (rating.user_id == actor.user_id or actor.reads_everything))
    if rating.user_id != actor.user_id:
        raise AppError("RATING_NOT_OWNER")
    if not is_editable(rating):
        raise AppError("RATING_EDIT_CLOSED", details={"editable_until": editable_until(rating).isoformat()})
    stars = changes.get("stars", rating.stars)
    tags = validate_tags(rating.service_type, changes["tags"]) if "tags" in changes else list(rating.tags)
    comment = _clean_comment(changes["comment"]) if "comment" in changes else rating.comment
    _require_comment(stars, comment)
    anonymous = changes.get("anonymous", rating.anonymous)
    if (stars, tags, comment, anonymous) == (rating.stars, list(rating.tags), rating.comment, rating.anonymous):
        return rating  # nothing changed: not counted as an edit
    if comment != rating.comment:
        rating.content_check = _check_comment(actor.user_id, comment)
    rating.stars, rating.tags, rating.comment, rating.anonymous = stars, tags, comment, anonymous
    rating.edit_count = Rating.edit_count + 1
    db.session.flush()
    db.session.refresh(rating)
    if rating.low and rating.followup is None:
        open_followup(rating)
    return rating


def my_ratings_query(actor: Principal, service_type: str | None = None):
    stmt = (select(Rating).where(Rating.user_id == actor.user_id)
            .options(selectinload(Rating.followup)).order_by(Rating.id.desc()))
    if service_type:
        stmt = stmt.where(Rating.service_type == service_type)
    return stmt


def _local_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def _filter(stmt, service_type=None, company_id=None, stars_min=None, stars_max=None, date_from=None,
            date_to=None, since=None, until=None):
    if service_type:
        stmt = stmt.where(Rating.service_type == service_type)
    if company_id is not None:
        stmt = stmt.where(Rating.company_id == company_id)
    if stars_min is not None:
        stmt = stmt.where(Rating.stars >= stars_min)
    if stars_max is not None:
        stmt = stmt.where(Rating.stars <= stars_max)
    if date_from is not None:  # dates are Asia/Shanghai calendar days, both included
        stmt = stmt.where(Rating.created_at >= _local_day_start(date_from))
    if date_to is not None:
        stmt = stmt.where(Rating.created_at < _local_day_start(date_to + timedelta(days=1)))
    if since is not None:
        stmt = stmt.where(Rating.created_at >= since)
    if until is not None:
        stmt = stmt.where(Rating.created_at < until)
    return stmt


def received_query(actor: Principal, company_id: int | None = None, **filters):
    """Ratings of the actor's contractor company (any role scoped to a company): FORBIDDEN for
    anyone who is nobody's staff, NOT_FOUND for another company's id."""
    companies = contractor_companies(actor)
    if not companies:
        raise AppError("FORBIDDEN", "仅服务单位人员可查看本单位收到的评价")
    if company_id is not None:
        ensure_visible(company_id in companies)
        companies = {company_id}
    stmt = select(Rating).where(Rating.company_id.in_(sorted(companies))).order_by(Rating.id.desc())
    return _filter(stmt, **filters)


def admin_query(service_type=None, company_id=None, stars_min=None, stars_max=None, date_from=None,
                date_to=None, has_followup=None, followup_status=None, flagged=None):
    """Every rating, newest first (administrators and auditors)."""
    stmt = (select(Rating).options(selectinload(Rating.user).selectinload(User.department),
                                   selectinload(Rating.company), selectinload(Rating.followup))
            .order_by(Rating.id.desc()))
    stmt = _filter(stmt, service_type=service_type, company_id=company_id, stars_min=stars_min,
                   stars_max=stars_max, date_from=date_from, date_to=date_to)
    followup = exists().where(RatingFollowup.rating_id == Rating.id)
    if has_followup is not None:
        stmt = stmt.where(followup if has_followup else ~followup)
    if followup_status:
        stmt = stmt.where(exists().where(RatingFollowup.rating_id == Rating.id,
                                         RatingFollowup.status == followup_status))
    if flagged is not None:
        stmt = stmt.where(Rating.content_check == "review" if flagged
                          else Rating.content_check.is_distinct_from("review"))
    return stmt


def summary(service_type: str | None = None, company_id: int | None = None, since: datetime | None = None,
            until: datetime | None = None, date_from: date | None = None, date_to: date | None = None) -> dict:
    """Numbers of the ratings made in [since, until) and on the Asia/Shanghai days date_from..
    date_to (both included): {count, average (2 decimals, None when there are none),
    distribution {1..5: count}, low_count (LOW_STARS or fewer)}."""
    stmt = _filter(select(Rating.stars, func.count()).group_by(Rating.stars), service_type=service_type,
                   company_id=company_id, since=since, until=until, date_from=date_from, date_to=date_to)
    distribution = dict.fromkeys(range(1, 6), 0)
    for stars, count in db.session.execute(stmt):
        distribution[stars] = count
    count = sum(distribution.values())
    total = sum(stars * n for stars, n in distribution.items())
    return {"count": count, "average": round(total / count, 2) if count else None,
            "distribution": distribution,
            "low_count": sum(n for stars, n in distribution.items() if stars <= LOW_STARS)}


# --- follow-ups ----------------------------------------------------------------------------

def followup_due(opened_at: datetime) -> datetime:
    """When a follow-up opened at `opened_at` becomes overdue: FOLLOWUP_DUE_WORKING_DAYS full
    working days of working time later, on the working calendar."""
    return add_working_hours(opened_at, working_hours_per_day() * FOLLOWUP_DUE_WORKING_DAYS)


def is_overdue(followup: RatingFollowup, now: datetime | None = None) -> bool:
    return followup.status != "closed" and (now or utcnow()) > followup.due_at


def open_followup(rating: Rating) -> RatingFollowup:
    """Open the follow-up of a low rating (the system opens it: its creation row names no
    person, so an anonymous rater stays anonymous in the timeline)."""
    followup = RatingFollowup(rating=rating, user_id=rating.user_id, status="open", due_at=followup_due(utcnow()))
    db.session.add(followup)
    FOLLOWUP.record_creation(followup, SYSTEM, note=f"{rating.stars}星评价")
    return followup


def followup_query(status: str | None = None, overdue: bool | None = None, service_type: str | None = None,
                   company_id: int | None = None):
    """Follow-ups, the oldest unfinished first (administrators and auditors)."""
    f = RatingFollowup
    stmt = (select(f).join(Rating, Rating.id == f.rating_id)
            .options(selectinload(f.rating).selectinload(Rating.user).selectinload(User.department),
                     selectinload(f.rating).selectinload(Rating.company), selectinload(f.handler))
            .order_by((f.status == "closed").asc(), f.due_at.asc(), f.id.asc()))
    if status:
        stmt = stmt.where(f.status == status)
    if overdue is not None:
        late = (f.status != "closed") & (f.due_at < func.now())
        stmt = stmt.where(late if overdue else ~late)
    if service_type:
        stmt = stmt.where(Rating.service_type == service_type)
    if company_id is not None:
        stmt = stmt.where(Rating.company_id == company_id)
    return stmt


def get_followup(actor: Principal, followup_id: int) -> RatingFollowup:
    followup = db.session.get(RatingFollowup, followup_id)
    ensure_visible(followup is not None and FOLLOWUP.is_visible(actor, followup))
    return followup


def start_followup(actor: Principal, followup_id: int, note: str | None = None) -> RatingFollowup:
    """An administrator takes the follow-up in hand (open → in_progress)."""
    followup = get_followup(actor, followup_id)
    FOLLOWUP.transition(followup, "start", actor, note=note,
                        values={"started_at": func.now(), "handler_id": actor.user_id or None})
    audit.record("rating_followup.start", "rating_followup", followup.id, {"rating_id": followup.rating_id},
                 actor=actor)
    return followup


def close_followup(actor: Principal, followup_id: int, action_taken: str, reply: str) -> RatingFollowup:
    """An administrator closes the follow-up with the action taken (整改措施) and the reply (答复);
    the rater is notified in the same transaction. Two closes at once: one wins, the other gets
    INVALID_TRANSITION (and no second notice)."""
    followup = get_followup(actor, followup_id)
    action_taken, reply = (action_taken or "").strip(), (reply or "").strip()
    missing = {name: ["必填"] for name, value in (("action_taken", action_taken), ("reply", reply)) if not value}
    if missing:
        raise AppError("VALIDATION_ERROR", "请填写整改措施和答复", details={"fields": {"json": missing}})
    FOLLOWUP.transition(followup, "close", actor, values={
        "action_taken": action_taken, "reply": reply, "closed_at": func.now(), "handler_id": actor.user_id or None})
    rating = followup.rating
    notify(followup.user_id, "rating_followup_reply", {
        "service": service_title(rating.service_type), "stars": rating.stars, "rated_at": rating.created_at,
        "reply": reply, "replied_at": followup.closed_at, "rating_id": rating.id, "followup_id": followup.id})
    audit.record("rating_followup.close", "rating_followup", followup.id, {"rating_id": rating.id}, actor=actor)
    return followup
