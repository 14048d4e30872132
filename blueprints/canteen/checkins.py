"""Clean-plate check-ins (光盘打卡) and the review of their random sample.

A diner who has been served scans the tray-return station's mini-program code (the
station is a place: its code carries the places scene `p=<place id>`, see
blueprints/places/service.py) and sends a photo of the empty plate (an upload of purpose
"checkin"). `check_in` refuses, with a stable 409 code each:
- the booking not served (CANTEEN_CHECKIN_NOT_SERVED);
- a scene that is not the station of the booking's canteen (CANTEEN_CHECKIN_WRONG_STATION);
- outside `rules.checkin_window` (CANTEEN_CHECKIN_WINDOW_CLOSED);
- a second check-in of the booking (CANTEEN_CHECKIN_EXISTS; UNIQUE booking_id, so two
  processes at once get one check-in and one award);
- a photo whose content (sha256) an earlier check-in used (CANTEEN_CHECKIN_PHOTO_REUSED;
  UNIQUE photo_sha256).
A booking that is not the caller's is NOT_FOUND. The photo is bound to the booking
(order_type "meal_booking", purpose "checkin"), so whoever sees the booking (the diner, the
canteen's operators, administrators, auditors) sees the photo.

Points: `points.award(user, "clean_plate", "meal_checkin:<id>")` at once, for every
check-in (the rule's daily cap may pay less or nothing). Sampling: a check-in goes to the
review queue (pending_review) when `sample() < CANTEEN_CHECKIN_SAMPLE_RATE`; `sample`
defaults to `random.random` and tests inject their own. The operator approves or rejects
(one conditional UPDATE from pending_review: of two reviewers one wins, the other gets
CANTEEN_CHECKIN_NOT_PENDING); a rejection reverses the points with the reason and notifies
the diner (template "canteen_checkin_rejected"); the diner sees the reason in "my check-ins".
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime

from flask import current_app
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError

from app import audit
from app.auth import Principal, ensure_visible
from app.errors import AppError, register_codes
from app.extensions import db, get_row, violated_constraint
from app.notify import notify, register_templates
from app.timeutil import local, utcnow
from blueprints.attachments import service as attachments
from blueprints.canteen import rules
from blueprints.points import service as points
from miniapp_api import codes
from models.attachments import Attachment
from models.canteen import MEALS, Canteen, CleanPlateCheckin, MealBooking
from models.points import PointsTransaction

log = logging.getLogger(__name__)

register_codes({
    "CANTEEN_CHECKIN_NOT_SERVED": (409, "这餐还没有取餐核销，不能光盘打卡",
                                   "Clean-plate check-in: the booking is not served (booked, cancelled or no-show)."),
    "CANTEEN_CHECKIN_WRONG_STATION": (409, "请扫描本食堂回盘处的二维码后再打卡",
                                      "Clean-plate check-in: the scene is not the tray-return station of the "
                                      "booking's canteen (or the canteen has no station)."),
    "CANTEEN_CHECKIN_WINDOW_CLOSED": (409, "不在光盘打卡时间内（开餐后至用餐结束后一段时间内可打卡）",
                                      "Clean-plate check-in: now is outside the slot's check-in window; "
                                      "`details.opens_at` / `details.closes_at`."),
    "CANTEEN_CHECKIN_EXISTS": (409, "这餐已经打过卡了",
                               "Clean-plate check-in: the booking has a check-in (`details.checkin_id`)."),
    "CANTEEN_CHECKIN_PHOTO_REUSED": (409, "这张照片已用于打卡，请拍摄本次用餐的空盘照片",
                                     "Clean-plate check-in: a photo with the same content was used by an earlier "
                                     "check-in."),
    "CANTEEN_CHECKIN_NOT_PENDING": (409, "该打卡不在待抽检状态（可能已被他人处理）",
                                    "Check-in review: the check-in is not pending review (`details.status`); "
                                    "of two reviewers at once, one wins."),
})

register_templates({
    # A clean-plate check-in rejected by the sample review (blueprints/canteen/checkins.py).
    # Context: canteen, meal ("午餐"), day ("3月12日"), reason, points (reversed; 0 if none),
    # checkin_id, reviewed_at.
    "canteen_checkin_rejected": {
        "template_id": "",
        "title": "光盘打卡抽检未通过",
        "body": "您{day}在{canteen}的{meal}光盘打卡经抽检未通过，已撤销 {points} 积分。原因：{reason}",
        "page": "pages/canteen/checkins",
        "fields": {"thing1": "{canteen}{meal}", "phrase2": "未通过", "thing3": "{reason}",
                   "time4": "{reviewed_at}"},
        "long_term": False,
    },
})

REASON_MAX = 200
POINTS_RULE = "clean_plate"
Sampler = Callable[[], float]


def reference(checkin_id: int) -> str:
    """The points ledger reference of a check-in's award."""
    return f"meal_checkin:{checkin_id}"


# --- reading -----------------------------------------------------------------------------

def may_read(actor: Principal, checkin: CleanPlateCheckin) -> bool:
    return (checkin.user_id == actor.user_id or actor.reads_everything
            or rules.operates(actor, db.session.get(Canteen, checkin.canteen_id)))


def get_visible(actor: Principal, checkin_id: int) -> CleanPlateCheckin:
    checkin = get_row(CleanPlateCheckin, checkin_id)
    ensure_visible(checkin is not None and may_read(actor, checkin))
    return checkin


def _with_context():
    return select(CleanPlateCheckin)


def mine_query(actor: Principal):
    """The caller's check-ins, newest first (with the reviewer's reason when rejected)."""
    return _with_context().where(CleanPlateCheckin.user_id == actor.user_id).order_by(CleanPlateCheckin.id.desc())


def review_query(actor: Principal, canteen_id: int):
    """The pending sample of a canteen, oldest first. NOT_FOUND unless the caller reviews it
    (its operators, administrators) or reads everything (auditors)."""
    rules.find_canteen(actor, canteen_id)
    return (_with_context().where(CleanPlateCheckin.canteen_id == canteen_id,
                                  CleanPlateCheckin.status == "pending_review")
            .order_by(CleanPlateCheckin.id))


def points_awarded(checkin: CleanPlateCheckin) -> int:
    if checkin.points_transaction_id is None:
        return 0
    return db.session.get(PointsTransaction, checkin.points_transaction_id).amount


def points_reversed(checkin: CleanPlateCheckin) -> bool:
    if checkin.points_transaction_id is None:
        return False
    return db.session.execute(select(exists().where(
        PointsTransaction.reverses_id == checkin.points_transaction_id))).scalar()


# --- checking in -------------------------------------------------------------------------

def _station_matches(scene: str, canteen: Canteen) -> bool:
    if canteen.tray_station_id is None:
        return False
    try:
        entry, place_id = codes.parse_scene(scene)
    except AppError:
        return False
    return entry.type == "place" and place_id == canteen.tray_station_id


def _photo(actor: Principal, attachment_id: int) -> Attachment:
    """The caller's own unbound "checkin" upload; ATTACHMENT_INVALID otherwise (as bind says)."""
    photo = get_row(Attachment, attachment_id)
    if photo is None or photo.uploader_id != actor.user_id or photo.purpose != "checkin" or photo.order_id:
        raise AppError("ATTACHMENT_INVALID", details={"ids": [attachment_id]})
    return photo


def _existing_checkin_id(booking_id: int) -> int | None:
    return db.session.execute(select(CleanPlateCheckin.id).where(CleanPlateCheckin.booking_id == booking_id)).scalar()


def check_in(actor: Principal, booking_id: int, scene: str, attachment_id: int, *,
             now: datetime | None = None, sample: Sampler | None = None) -> CleanPlateCheckin:
    """Check in the caller's served booking (caller commits). See the module docstring."""
    now = now or utcnow()
    booking = get_row(MealBooking, booking_id)
    ensure_visible(booking is not None and booking.user_id == actor.user_id)
    if booking.status != "served":
        raise AppError("CANTEEN_CHECKIN_NOT_SERVED", details={"status": booking.status})
    if not _station_matches(scene, booking.canteen):
        raise AppError("CANTEEN_CHECKIN_WRONG_STATION")
    opens_at, closes_at = rules.checkin_window(booking.slot, booking.day)
    if not opens_at <= now < closes_at:
        raise AppError("CANTEEN_CHECKIN_WINDOW_CLOSED", details={"opens_at": opens_at.isoformat(),
                                                                 "closes_at": closes_at.isoformat()})
    existing = _existing_checkin_id(booking.id)
    if existing is not None:
        raise AppError("CANTEEN_CHECKIN_EXISTS", details={"checkin_id": existing})
    photo = _photo(actor, attachment_id)
    rate = current_app.config["CANTEEN_CHECKIN_SAMPLE_RATE"]
    status = "pending_review" if (sample or random.random)() < rate else "accepted"
    return record(booking, photo, status, now=now, actor=actor)


def record(booking: MealBooking, photo: Attachment, status: str, *, now: datetime,
           actor: Principal) -> CleanPlateCheckin:
    """Insert the check-in, bind the photo, pay the points (no rule checks: `check_in` made
    them; the demo data calls this with past times). The unique constraints decide races."""
    checkin = CleanPlateCheckin(booking_id=booking.id, user_id=booking.user_id, canteen_id=booking.canteen_id,
                                day=booking.day, photo_id=photo.id, photo_sha256=photo.sha256, status=status,
                                created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(checkin)
            db.session.flush()
    except IntegrityError as exc:
        constraint = violated_constraint(exc)
        if constraint == "uq_clean_plate_checkin_photo_sha256":
            raise AppError("CANTEEN_CHECKIN_PHOTO_REUSED") from None
        if constraint == "uq_clean_plate_checkin_booking_id":
            raise AppError("CANTEEN_CHECKIN_EXISTS", details={"checkin_id": _existing_checkin_id(booking.id)}) from None
        raise
    attachments.bind([photo.id], actor, "meal_booking", booking.id, "checkin")
    tx = points.award(booking.user_id, POINTS_RULE, reference(checkin.id), now=now)
    checkin.points_transaction_id = tx.id if tx is not None else None
    db.session.flush()
    return checkin


# --- reviewing ---------------------------------------------------------------------------

def _reviewable(actor: Principal, checkin_id: int) -> CleanPlateCheckin:
    checkin = get_visible(actor, checkin_id)
    if not rules.manages(actor, db.session.get(Canteen, checkin.canteen_id)):
        raise AppError("FORBIDDEN")
    return checkin


def _decide(actor: Principal, checkin: CleanPlateCheckin, status: str, now: datetime,
            reason: str | None = None) -> CleanPlateCheckin:
    done = db.session.execute(
        update(CleanPlateCheckin)
        .where(CleanPlateCheckin.id == checkin.id, CleanPlateCheckin.status == "pending_review")
        .values(status=status, reviewed_by_id=actor.user_id, reviewed_at=now, reject_reason=reason)
        .returning(CleanPlateCheckin.id).execution_options(synchronize_session=False)).scalar()
    db.session.refresh(checkin)
    if done is None:
        raise AppError("CANTEEN_CHECKIN_NOT_PENDING", details={"status": checkin.status})
    return checkin


def approve(actor: Principal, checkin_id: int, *, now: datetime | None = None) -> CleanPlateCheckin:
    checkin = _reviewable(actor, checkin_id)
    checkin = _decide(actor, checkin, "approved", now or utcnow())
    audit.record("canteen.checkin.approve", "clean_plate_checkin", checkin.id, actor=actor)
    return checkin


def reject(actor: Principal, checkin_id: int, reason: str, *, now: datetime | None = None) -> CleanPlateCheckin:
    """Reject a pending sample: reverse its points with the reason and tell the diner.
    If the diner has already spent those points the reversal is impossible (the balance
    never goes negative): the rejection stands, the award stays, and the audit says so."""
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise AppError("VALIDATION_ERROR", details={"json": {"reason": [f"请填写 1–{REASON_MAX} 字的原因"]}})
    now = now or utcnow()
    checkin = _decide(actor, _reviewable(actor, checkin_id), "rejected", now, reason)
    reversed_ = False
    if checkin.points_transaction_id is not None:
        try:
            with db.session.begin_nested():
                points.reverse_reference(reference(checkin.id), actor=actor, reason=f"光盘打卡抽检未通过：{reason}")
            reversed_ = True
        except AppError as exc:
            if exc.code != "POINTS_INSUFFICIENT":
                raise
            log.warning("check-in %s rejected but its points were already spent", checkin.id)
    audit.record("canteen.checkin.reject", "clean_plate_checkin", checkin.id,
                 {"reason": reason, "points_reversed": reversed_}, actor=actor)
    booking = db.session.get(MealBooking, checkin.booking_id)
    notify(checkin.user_id, "canteen_checkin_rejected", {
        "canteen": booking.canteen.name, "meal": MEALS.get(booking.meal, booking.meal),
        "day": f"{booking.day.month}月{booking.day.day}日",
        "reason": reason, "points": points_awarded(checkin) if reversed_ else 0,
        "checkin_id": checkin.id, "reviewed_at": local(now)}, page="pages/canteen/checkins")
    return checkin
