"""The closed no-show loop: check-in by the room's door code, finish early, and the sweeps —
approval deadlines, auto-release of meetings nobody checked in to, closing ended meetings,
waitlist offers — plus no-show suspensions and reminders.

Check-in: the organiser's side or an attendee scans the room's door code (the room's place
code, scene `p=<place id>`) from checkin_open_minutes before the start until
release_after_minutes after it. Not checked in by then: the `rooms_deadlines` sweep releases
the booking (no_show), tells the organiser, offers the slot to the waitlist (the waitlist's
lifecycle receiver), and counts the organiser's no-shows within ROOM_NO_SHOW_WINDOW_DAYS; at
ROOM_NO_SHOW_LIMIT booking is suspended for ROOM_SUSPEND_DAYS (one suspension per triggering
no-show: UNIQUE booking_id). Finishing early ends the booking now and frees the rest.

Every sweep step is a conditional transition per row (`ROOM.transition`), each row in its own
transaction, so a second run, or a second process at once, changes nothing twice."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app import audit
from app.auth import Principal, ensure_visible
from app.errors import AppError, register_codes
from app.extensions import db, get_row
from app.lifecycle import SYSTEM
from app.locks import lock_key
from app.notify import notify, register_templates
from app.timeutil import local
from blueprints.rooms import booking as bookings
from blueprints.rooms import rules, waitlist
from blueprints.rooms.rules import ROOM
from miniapp_api import codes
from models.rooms import Room, RoomBooking, RoomSuspension

log = logging.getLogger(__name__)

register_codes({
    "ROOM_CHECKIN_WRONG_ROOM": (409, "请扫描本会议室门口的二维码签到",
                                "Check-in: the scene is not the door code of the booking's room."),
    "ROOM_CHECKIN_WINDOW": (409, "不在签到时间内", "Check-in: outside [start - checkin_open_minutes, start + "
                                              "release_after_minutes) (`details.opens_at`, `closes_at`)."),
    "ROOM_FINISH_WINDOW": (409, "会议已到结束时间，无需提前结束", "Finish early: at or after the end "
                                                            "(`details.end_at`); the sweep closes it."),
    "ROOM_SUSPENSION_LIFTED": (409, "该暂停已解除", "Lift: the suspension was lifted already."),
})

register_templates({
    # Context: subject, room, when, start, booking_id.
    "room_booking_lapsed": {
        "template_id": "", "title": "会议室预订审批超时",
        "body": "您 {when} 在{room}的预订「{subject}」未在期限内审批，已自动失效，时段已释放。",
        "page": "pages/rooms/booking?id={booking_id}",
        "fields": {"thing1": "{room}", "time2": "{start}", "phrase3": "已失效"},
        "long_term": False,
    },
    "room_released_no_show": {
        "template_id": "", "title": "会议室未签到已释放",
        "body": "您 {when} 在{room}的预订「{subject}」开始后未签到，已自动释放。多次未签到将暂停预订。",
        "page": "pages/rooms/penalties",
        "fields": {"thing1": "{room}", "time2": "{start}", "phrase3": "已释放"},
        "long_term": False,
    },
    # Context: reason, until.
    "room_booking_suspended": {
        "template_id": "", "title": "会议室预订已暂停",
        "body": "{reason}，会议室预订暂停至 {until:%m月%d日 %H:%M}。如有异议请联系管理员。",
        "page": "pages/rooms/penalties",
        "fields": {"thing1": "{reason}", "time2": "{until}"},
        "long_term": False,
    },
    # Context: subject, room, when, start, minutes, booking_id.
    "room_meeting_reminder": {
        "template_id": "", "title": "会议提醒：{subject}",
        "body": "会议「{subject}」将于 {start:%H:%M} 在{room}开始，请提前到场并扫码签到。",
        "page": "pages/rooms/booking?id={booking_id}",
        "fields": {"thing1": "{subject}", "time2": "{start}", "thing3": "{room}"},
        "long_term": False,
    },
})

BATCH = 500


def _now(now: datetime | None) -> datetime:
    return now or rules.clock()


# --- check-in and finishing early ----------------------------------------------------------

def checkin_window(room: Room, booking: RoomBooking) -> tuple[datetime, datetime]:
    return (booking.start_at - timedelta(minutes=room.checkin_open_minutes),
            booking.start_at + timedelta(minutes=room.release_after_minutes))


def _door_matches(scene: str, room: Room) -> bool:
    """The scanned scene is the room's door code (its place's mini-program code)."""
    try:
        entry, place_id = codes.parse_scene(scene)
    except AppError:
        return False
    return entry.type == "place" and place_id == room.place_id


def check_in(actor: Principal, booking_id: int, scene: str, now: datetime | None = None) -> RoomBooking:
    now = _now(now)
    booking = bookings.get_booking(actor, booking_id)
    if not _door_matches(scene, booking.room):
        raise AppError("ROOM_CHECKIN_WRONG_ROOM", f"请扫描「{booking.room.name}」门口的二维码签到",
                       details={"room": booking.room.name})
    opens, closes = checkin_window(booking.room, booking)
    if not opens <= now < closes:
        raise AppError("ROOM_CHECKIN_WINDOW", f"签到时间为 {local(opens):%H:%M} 至 {local(closes):%H:%M} 之前",
                       details={"opens_at": local(opens).isoformat(), "closes_at": local(closes).isoformat()})
    return ROOM.transition(booking, "check_in", actor, values={"checked_in_at": now,
                                                               "checked_in_by_id": actor.user_id})


def finish(actor: Principal, booking_id: int, now: datetime | None = None) -> RoomBooking:
    """End a checked-in meeting now (rounded up to the minute, at least a minute after the
    start) and offer the freed rest of the slot (buffer included) to the waitlist."""
    now = _now(now)
    booking = bookings.get_booking(actor, booking_id)
    if now >= booking.end_at:
        raise AppError("ROOM_FINISH_WINDOW", details={"end_at": local(booking.end_at).isoformat()})
    minutes = math.ceil((now - booking.start_at) / timedelta(minutes=1))
    end = booking.start_at + timedelta(minutes=max(1, minutes))
    room, old_until = booking.room, booking.blocked_until
    new_until = rules.blocked_until(room, end)
    ROOM.transition(booking, "finish", actor, values={"end_at": end, "blocked_until": new_until, "finished_at": now})
    bookings.cancel_open_services(booking.id)
    if new_until < old_until:
        waitlist.offer_freed(room.id, new_until, old_until, now)
    return booking


# --- the deadlines sweep -------------------------------------------------------------------
# Each step visits the due rows by id (keyset batches of BATCH) and handles each row in its
# own transaction: a conditional transition (a row another process moved first is skipped),
# then its consequences. Short transactions keep the row, waitlist and suspension locks brief,
# so the sweep never holds a lock a request is waiting on for long, nor deadlocks with one.

def _steps(due: Callable[[int], list], handle: Callable[..., bool]) -> int:
    changed, after = 0, 0
    while rows := due(after):
        for row in rows:
            if handle(*row):
                changed += 1
            db.session.commit()
        after = rows[-1][0]
    return changed


def _due_bookings(*where) -> Callable[[int], list]:
    def due(after: int) -> list:
        return list(db.session.execute(
            select(RoomBooking.id).join(Room, Room.id == RoomBooking.room_id).where(RoomBooking.id > after, *where)
            .order_by(RoomBooking.id).limit(BATCH)))
    return due


def _transition(name: str, after=None, values=None) -> Callable[[int], bool]:
    """Handle one booking: transition `name` by SYSTEM, then `after(booking)`; False if the
    booking is no longer in a source state."""
    def handle(booking_id: int) -> bool:
        try:
            booking = ROOM.transition(booking_id, name, SYSTEM, values=values(booking_id) if values else None)
        except AppError as exc:
            if exc.code != "INVALID_TRANSITION":
                raise
            return False
        if after:
            after(booking)
        return True
    return handle


def run_deadlines(now: datetime | None = None) -> int:
    """Lapse pending bookings past their deadline, release no-shows (and suspend repeat
    offenders), close ended meetings, expire waitlist offers and stale waiting entries.
    Commits; returns how many things changed (0 on a second run)."""
    now = _now(now)
    release_at = RoomBooking.start_at + func.make_interval(0, 0, 0, 0, 0, Room.release_after_minutes)
    changed = _steps(_due_bookings(RoomBooking.status == "pending", RoomBooking.approval_deadline <= now),
                     _transition("lapse", after=lambda b: bookings.notify_people(
                         b, "room_booking_lapsed", attendees=False, organiser_side=True)))
    changed += _steps(_due_bookings(RoomBooking.status == "approved", Room.checkin_required.is_(True),
                                    release_at <= now),
                      _transition("mark_no_show", after=lambda b: _released(b, now)))
    changed += _steps(_due_bookings(RoomBooking.end_at <= now, (RoomBooking.status == "checked_in")
                                    | ((RoomBooking.status == "approved") & Room.checkin_required.is_(False))),
                      _transition("close", values=lambda booking_id: {
                          "finished_at": db.session.get(RoomBooking, booking_id).end_at}))
    changed += _steps(lambda after: waitlist.lapsed_offers(now, after, BATCH),
                      lambda entry_id, room_id: waitlist.expire_offer(entry_id, room_id, now))
    changed += waitlist.expire_stale(now)
    db.session.commit()
    return changed


def _released(booking: RoomBooking, now: datetime) -> None:
    """A no-show: services off, the organiser told, maybe suspended. (The waitlist hears of the
    release through its lifecycle receiver.)"""
    bookings.cancel_open_services(booking.id)
    bookings.notify_people(booking, "room_released_no_show", attendees=False, organiser_side=True)
    _maybe_suspend(booking, now)


def no_shows_within(user_id: int, now: datetime) -> list[RoomBooking]:
    days = current_app.config["ROOM_NO_SHOW_WINDOW_DAYS"]
    return list(db.session.execute(select(RoomBooking).where(
        RoomBooking.user_id == user_id, RoomBooking.status == "no_show",
        RoomBooking.start_at > now - timedelta(days=days)).order_by(RoomBooking.start_at.desc())).scalars())


def _suspended(user_id: int, now: datetime) -> bool:
    """A suspension not lifted and not over (one that starts later counts too: another
    process's clock may run a little ahead)."""
    return bool(db.session.execute(select(exists().where(
        RoomSuspension.user_id == user_id, RoomSuspension.lifted_at.is_(None), RoomSuspension.ends_at > now))).scalar())


def _maybe_suspend(booking: RoomBooking, now: datetime) -> None:
    """At ROOM_NO_SHOW_LIMIT no-shows within the window, and no active suspension: suspend.
    Decided under a per-user lock (two sweeps releasing two of one person's bookings at once
    count one after the other) and recorded once per triggering booking (UNIQUE booking_id)."""
    config = current_app.config
    db.session.execute(select(func.pg_advisory_xact_lock(lock_key(f"room-suspension:{booking.user_id}"))))
    count = len(no_shows_within(booking.user_id, now))
    if count < config["ROOM_NO_SHOW_LIMIT"] or _suspended(booking.user_id, now):
        return
    reason = f"{config['ROOM_NO_SHOW_WINDOW_DAYS']}天内{count}次预订会议室未签到"
    until = now + timedelta(days=config["ROOM_SUSPEND_DAYS"])
    made = db.session.execute(pg_insert(RoomSuspension).values(
        user_id=booking.user_id, starts_at=now, ends_at=until, reason=reason, no_shows=count, booking_id=booking.id)
        .on_conflict_do_nothing(index_elements=["booking_id"]).returning(RoomSuspension.id)).scalar()
    if made is not None:
        notify(booking.user_id, "room_booking_suspended", {"reason": reason, "until": until})


def send_reminders(now: datetime | None = None) -> int:
    """Remind the organiser, the booker and attendees once, ROOM_REMINDER_MINUTES before the start."""
    now = _now(now)
    soon = now + timedelta(minutes=current_app.config["ROOM_REMINDER_MINUTES"])
    ids = db.session.execute(
        update(RoomBooking).where(RoomBooking.status.in_(("approved", "checked_in")), RoomBooking.reminded_at.is_(None),
                                  RoomBooking.start_at > now, RoomBooking.start_at <= soon)
        .values(reminded_at=now).returning(RoomBooking.id).execution_options(synchronize_session=False)).scalars().all()
    for booking_id in ids:
        bookings.notify_people(db.session.get(RoomBooking, booking_id), "room_meeting_reminder", organiser_side=True)
    db.session.commit()
    return len(ids)


# --- suspensions ---------------------------------------------------------------------------

def my_penalties(actor: Principal, now: datetime | None = None) -> dict:
    now = _now(now)
    return {"no_shows": no_shows_within(actor.user_id, now), "limit": current_app.config["ROOM_NO_SHOW_LIMIT"],
            "window_days": current_app.config["ROOM_NO_SHOW_WINDOW_DAYS"],
            "suspension": rules.active_suspension(actor.user_id, now)}


def lift_suspension(actor: Principal, suspension_id: int, reason: str, now: datetime | None = None) -> RoomSuspension:
    suspension = get_row(RoomSuspension, suspension_id)
    ensure_visible(suspension is not None and actor.is_admin)
    lifted = db.session.execute(
        update(RoomSuspension).where(RoomSuspension.id == suspension.id, RoomSuspension.lifted_at.is_(None))
        .values(lifted_at=_now(now), lifted_by_id=actor.user_id, lift_reason=reason).returning(RoomSuspension.id)
        .execution_options(synchronize_session=False)).scalar()
    if lifted is None:
        raise AppError("ROOM_SUSPENSION_LIFTED")
    audit.record("rooms.suspension.lift", "room_suspension", suspension.id, {"reason": reason}, actor=actor)
    db.session.refresh(suspension)
    return suspension

