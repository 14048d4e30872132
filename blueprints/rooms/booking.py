"""Room bookings (会议室预订): book, edit, cancel, recurring series, approval, delegations,
quotas. Plain functions (no `request`); they write inside the caller's transaction and the
route commits.

Booking (`create_booking`), in this order: the room (active; the organiser's department may
book it), the organiser not suspended, the time rules (`rules.check_times`; administrators may
book beyond advance_days), blackouts, attendee count within capacity, quotas, then
`rules.occupy` — the exclusion constraint decides who gets a contested slot. A room that needs
approval gets a `pending` booking with a deadline (approval_hours after booking, or the start
if sooner; the `rooms_deadlines` sweep lapses it), otherwise `approved` at once.

Quotas (RoomQuota): per person (the organiser) and per department (the organiser's), bookings
per ISO week of the start and minutes per day of the start (Asia/Shanghai), counting occupying
bookings; a row naming the department overrides the default row. The count and the insert run
under transaction-level advisory locks per organiser and per department, so two processes
cannot both take the last allowance.

A secretary books for a leader with `on_behalf_of` (a live RoomDelegation): the leader is the
organiser (`user_id`), the secretary `booked_by_id`; both act for the booking (edit, cancel).
Administrators cancel or move other people's bookings only through adminops (with a reason).

Edit: a new time or room is checked like a new booking (quotas without the booking itself);
an approved booking moved in a room that needs approval is pending again with a new deadline;
a pending booking cannot move to a room without approval (ROOM_PENDING_MOVE: nobody could
approve it, and without a deadline it would never lapse).

Series: `expand` turns a recurrence into occurrences on local wall time (09:00 stays 09:00;
monthly repeats on the first start's day of the month and skips months without it). Every
occurrence is checked like a single booking, in its own savepoint; the report names each
occurrence's outcome. Without `book_available` one failing occurrence books nothing (409
ROOM_SERIES_CONFLICTS with the report); with it the others are booked. Attendees hear once per
series act (invited, changed, cancelled: "6月3日 09:00-10:00 起共 5 场"), approvers once per
pending occurrence.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule
from flask import current_app
from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app import audit
from app.auth import Principal, ensure_visible
from app.errors import AppError, register_codes
from app.extensions import db, get_row, violated_constraint
from app.locks import lock_key
from app.notify import notify, register_templates
from app.timeutil import SHANGHAI, local
from blueprints.rooms import rules
from blueprints.rooms.rules import ROOM
from models import RoleGrant, User
from models.rooms import (
    OCCUPYING_STATES,
    Room,
    RoomBooking,
    RoomBookingAttendee,
    RoomDelegation,
    RoomQuota,
    RoomSeries,
    RoomService,
)

register_codes({
    "ROOM_ATTENDEE_INVALID": (422, "参会人须为在职员工", "Booking: an attendee id is not an active staff member "
                                                  "(`details.user_ids`)."),
    "ROOM_NOT_DELEGATED": (403, "该领导未授权您代订会议室", "Booking: on_behalf_of names a user who has not "
                                                     "delegated booking to the caller."),
    "ROOM_QUOTA_EXCEEDED": (
        409, "超出会议室预订配额", "Booking: a person's or department's quota is used up (`details.scope`, "
                           "`kind` bookings_per_week|minutes_per_day, `limit`, `used`)."),
    "ROOM_EDIT_CLOSED": (409, "会议已开始或已结束，不能修改", "Edit: the booking started, or is not pending/approved."),
    "ROOM_PENDING_MOVE": (409, "待审批的预订不能改到无需审批的会议室，请取消后重新预订",
                          "Edit: a pending booking cannot move to a room without approval (nobody would "
                          "approve it); cancel it and book again."),
    "ROOM_CANCEL_CLOSED": (409, "会议已开始，不能取消", "Cancel: at or after the start (check in or finish instead)."),
    "ROOM_APPROVAL_EXPIRED": (409, "已超过审批期限，该预订将自动失效",
                              "Approve: past the booking's approval_deadline."),
    "ROOM_SERIES_TOO_LONG": (422, "周期会议的场次过多", "Series: more occurrences than ROOM_SERIES_MAX "
                                                "(`details.max`), or none at all."),
    "ROOM_SERIES_CONFLICTS": (
        409, "部分场次无法预订", "Series: some occurrences cannot be booked; nothing was booked "
                         "(`details.occurrences`: start_at, end_at, ok, code, message, conflicts). Send "
                         "book_available=true to book the others."),
    "ROOM_DELEGATION_INVALID": (422, "被授权人须为其他在职员工", "Delegation: the secretary is not another active "
                                                        "staff member."),
    "ROOM_DELEGATION_EXISTS": (409, "已授权该人员代订", "Delegation: a live delegation to this person exists."),
})

register_templates({
    # Context: subject, room, when ("6月3日 09:00-10:00"), organiser, booking_id.
    "room_invited": {
        "template_id": "", "title": "会议邀请：{subject}",
        "body": "{organiser}邀请您参加会议「{subject}」，时间 {when}，地点 {room}。",
        "page": "pages/rooms/booking?id={booking_id}",
        "fields": {"thing1": "{subject}", "time2": "{start}", "thing3": "{room}", "name4": "{organiser}"},
        "long_term": False,
    },
    "room_booking_changed": {
        "template_id": "", "title": "会议变更：{subject}",
        "body": "会议「{subject}」已改为 {when}，地点 {room}。",
        "page": "pages/rooms/booking?id={booking_id}",
        "fields": {"thing1": "{subject}", "time2": "{start}", "thing3": "{room}"},
        "long_term": False,
    },
    # Context: subject, room, when, reason, booking_id.
    "room_booking_cancelled": {
        "template_id": "", "title": "会议取消：{subject}",
        "body": "原定 {when} 在{room}召开的会议「{subject}」已取消。{reason}",
        "page": "pages/rooms/booking?id={booking_id}",
        "fields": {"thing1": "{subject}", "time2": "{start}", "thing3": "{room}"},
        "long_term": False,
    },
    # Context: organiser, department, room, when, deadline, booking_id.
    "room_approval_requested": {
        "template_id": "", "title": "会议室预订待审批",
        "body": "{department}{organiser}申请 {when} 使用{room}，请在 {deadline:%m月%d日 %H:%M} 前审批。",
        "page": "pages/rooms/approvals",
        "fields": {"thing1": "{room}", "time2": "{start}", "name3": "{organiser}", "time4": "{deadline}"},
        "long_term": False,
    },
    "room_booking_approved": {
        "template_id": "", "title": "会议室预订已通过",
        "body": "您 {when} 在{room}的预订「{subject}」已审批通过。",
        "page": "pages/rooms/booking?id={booking_id}",
        "fields": {"thing1": "{room}", "time2": "{start}", "phrase3": "已通过"},
        "long_term": False,
    },
    # Context: + reason.
    "room_booking_rejected": {
        "template_id": "", "title": "会议室预订未通过",
        "body": "您 {when} 在{room}的预订「{subject}」未通过审批。原因：{reason}",
        "page": "pages/rooms/booking?id={booking_id}",
        "fields": {"thing1": "{room}", "time2": "{start}", "phrase3": "未通过", "thing4": "{reason}"},
        "long_term": False,
    },
})

FREQUENCIES = {"daily": DAILY, "weekly": WEEKLY, "monthly": MONTHLY}
LIVE = ("pending", "approved")


# --- formatting and context ----------------------------------------------------------------

def when_text(start: datetime, end: datetime) -> str:
    """"6月3日 09:00-10:00" (the end's date too when it is another day)."""
    start, end = local(start), local(end)
    tail = end.strftime("%H:%M") if end.date() == start.date() else f"{end.month}月{end.day}日 {end:%H:%M}"
    return f"{start.month}月{start.day}日 {start:%H:%M}-{tail}"


def notice_context(booking: RoomBooking, **extra) -> dict:
    return {"subject": booking.subject, "room": booking.room.name, "when": when_text(booking.start_at, booking.end_at),
            "start": booking.start_at, "booking_id": booking.id, **extra}


def notify_people(booking: RoomBooking, template: str, *, attendees: bool = True, organiser_side: bool = False,
                  **extra) -> None:
    """Send `template` about `booking` to its attendees and/or the organiser and booker."""
    people: list[int] = []
    if organiser_side:
        people += [booking.user_id, booking.booked_by_id]
    if attendees:
        people += attendee_ids(booking.id)
    context = notice_context(booking, **extra)
    for user_id in dict.fromkeys(people):
        notify(user_id, template, context)


def _now(now: datetime | None) -> datetime:
    return now or rules.clock()


# --- reading -------------------------------------------------------------------------------

def get_booking(actor: Principal, booking_id: int) -> RoomBooking:
    """A booking the actor may see in full; else NOT_FOUND."""
    booking = get_row(RoomBooking, booking_id)
    ensure_visible(booking is not None and rules.can_see_details(actor, booking))
    return booking


def attendee_ids(booking_id: int) -> list[int]:
    return list(db.session.execute(select(RoomBookingAttendee.user_id).where(
        RoomBookingAttendee.booking_id == booking_id).order_by(RoomBookingAttendee.user_id)).scalars())


def my_bookings_query(actor: Principal, day_from: date | None = None, day_to: date | None = None,
                      status: str | None = None):
    """Bookings the caller organises, made, or attends; newest start first."""
    attends = exists().where(RoomBookingAttendee.booking_id == RoomBooking.id,
                             RoomBookingAttendee.user_id == actor.user_id)
    stmt = select(RoomBooking).where(or_(RoomBooking.user_id == actor.user_id,
                                         RoomBooking.booked_by_id == actor.user_id, attends))
    if day_from:
        stmt = stmt.where(RoomBooking.start_at >= _day_start(day_from))
    if day_to:
        stmt = stmt.where(RoomBooking.start_at < _day_start(day_to + timedelta(days=1)))
    if status:
        stmt = stmt.where(RoomBooking.status == status)
    return stmt.order_by(RoomBooking.start_at.desc(), RoomBooking.id.desc())


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def _starting_between(first: date, after: date) -> tuple:
    """Bookings starting on the local days first .. after - 1."""
    return RoomBooking.start_at >= _day_start(first), RoomBooking.start_at < _day_start(after)


def editable(booking: RoomBooking, now: datetime | None = None) -> bool:
    return booking.status in LIVE and _now(now) < booking.start_at


# --- checks --------------------------------------------------------------------------------

def _organiser(actor: Principal, on_behalf_of: int | None) -> User:
    if on_behalf_of is None or on_behalf_of == actor.user_id:
        return db.session.get(User, actor.user_id)
    if not rules.delegated(on_behalf_of, actor.user_id):
        raise AppError("ROOM_NOT_DELEGATED", details={"on_behalf_of": on_behalf_of})
    return db.session.get(User, on_behalf_of)


def _staff(user_ids: list[int]) -> list[int]:
    user_ids = list(dict.fromkeys(user_ids))
    if not user_ids:
        return []
    found = set(db.session.execute(select(User.id).where(
        User.id.in_(user_ids), User.kind == "staff", User.is_active.is_(True))).scalars())
    missing = [u for u in user_ids if u not in found]
    if missing:
        raise AppError("ROOM_ATTENDEE_INVALID", details={"user_ids": missing})
    return user_ids


def _quota(scope: str, department_id: int | None) -> RoomQuota | None:
    rows = db.session.execute(select(RoomQuota).where(
        RoomQuota.scope == scope,
        or_(RoomQuota.department_id.is_(None), RoomQuota.department_id == department_id))).scalars().all()
    return next((r for r in rows if r.department_id is not None), rows[0] if rows else None)


def check_quota(organiser: User, department_id: int | None, start: datetime, end: datetime,
                exclude_id: int | None = None) -> None:
    day = local(start).date()
    week = day - timedelta(days=day.weekday())
    for scope, column, who in (("person", RoomBooking.user_id, organiser.id),
                               ("department", RoomBooking.department_id, department_id)):
        quota = _quota(scope, department_id) if who is not None else None
        if quota is None or (quota.bookings_per_week is None and quota.minutes_per_day is None):
            continue
        db.session.execute(select(func.pg_advisory_xact_lock(lock_key(f"room-quota:{scope}:{who}"))))
        base = [column == who, RoomBooking.status.in_(OCCUPYING_STATES)]
        if exclude_id is not None:
            base.append(RoomBooking.id != exclude_id)
        checks = (
            ("bookings_per_week", quota.bookings_per_week, 1, select(func.count()).where(
                *base, *_starting_between(week, week + timedelta(7)))),
            ("minutes_per_day", quota.minutes_per_day, (end - start) // timedelta(minutes=1), select(
                func.coalesce(func.sum(func.extract("epoch", RoomBooking.end_at - RoomBooking.start_at) / 60), 0))
             .where(*base, *_starting_between(day, day + timedelta(1)))),
        )
        for kind, limit, adding, stmt in checks:
            if limit is None:
                continue
            used = int(db.session.execute(stmt).scalar())
            if used + adding > limit:
                label = {"person": "个人", "department": "本部门"}[scope]
                unit = "每周预订次数" if kind == "bookings_per_week" else "每日预订时长（分钟）"
                raise AppError("ROOM_QUOTA_EXCEEDED", f"超出{label}{unit}配额：上限 {limit}，已用 {used}",
                               details={"scope": scope, "kind": kind, "limit": limit, "used": used})


def _check_slot(actor: Principal, organiser: User, room: Room, start: datetime, end: datetime, attendee_count: int,
                now: datetime, exclude_id: int | None = None) -> None:
    rules.check_room(room)
    rules.check_department(room, organiser.department_id)
    rules.check_not_suspended(organiser.id, now)
    rules.check_times(room, start, end, now, far_ahead_ok=actor.is_admin)
    rules.check_blackouts(room, start, end)
    rules.check_capacity(room, attendee_count)
    check_quota(organiser, organiser.department_id, start, end, exclude_id)


def _deadline(room: Room, start: datetime, now: datetime) -> datetime | None:
    if room.approval == "none":
        return None
    return min(now + timedelta(hours=room.approval_hours), start)


def _service_due(start: datetime, now: datetime) -> datetime:
    return max(start - timedelta(minutes=current_app.config["ROOM_SERVICE_LEAD_MINUTES"]), now)


def _set_services(booking: RoomBooking, services: list[dict], now: datetime) -> None:
    """Make the booking's open services exactly `services` ([{kind, note}]); others cancelled."""
    existing = {s.kind: s for s in db.session.execute(
        select(RoomService).where(RoomService.booking_id == booking.id)).scalars()}
    wanted = {s["kind"]: s.get("note") for s in services}
    for kind, note in wanted.items():
        row = existing.get(kind)
        if row is None:
            db.session.add(RoomService(booking_id=booking.id, kind=kind, note=note,
                                       due_at=_service_due(booking.start_at, now)))
        elif row.status != "done":
            row.note, row.status, row.due_at = note, "open", _service_due(booking.start_at, now)
    for kind, row in existing.items():
        if kind not in wanted and row.status == "open":
            row.status = "cancelled"


def reschedule_services(booking: RoomBooking, now: datetime) -> None:
    """Open services follow the booking's (new) start."""
    db.session.execute(update(RoomService).where(RoomService.booking_id == booking.id, RoomService.status == "open")
                       .values(due_at=_service_due(booking.start_at, now)))


def cancel_open_services(booking_id: int) -> None:
    db.session.execute(update(RoomService).where(RoomService.booking_id == booking_id, RoomService.status == "open")
                       .values(status="cancelled"))


def _set_attendees(booking: RoomBooking, user_ids: list[int]) -> list[int]:
    """Make the attendee list exactly `user_ids`; return the newly added ones."""
    before = set(attendee_ids(booking.id))
    db.session.execute(delete(RoomBookingAttendee).where(RoomBookingAttendee.booking_id == booking.id,
                                                         RoomBookingAttendee.user_id.not_in(user_ids)))
    added = [u for u in user_ids if u not in before]
    db.session.add_all(RoomBookingAttendee(booking_id=booking.id, user_id=u) for u in added)
    db.session.flush()
    return added


def _notify_approvers(booking: RoomBooking) -> None:
    scope = [RoleGrant.scope_kind == "global"]
    if booking.room.approval == "room":
        scope.append(and_(RoleGrant.scope_kind == "room", RoleGrant.scope_id == booking.room_id))
    elif booking.department_id is not None:
        scope.append(and_(RoleGrant.scope_kind == "department", RoleGrant.scope_id == booking.department_id))
    approvers = db.session.execute(
        select(RoleGrant.user_id).join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.role == "room_approver", or_(*scope), User.is_active.is_(True)).distinct()).scalars()
    context = notice_context(booking, organiser=booking.organiser.name, deadline=booking.approval_deadline,
                             department=booking.department.name if booking.department else "")
    for user_id in approvers:
        notify(user_id, "room_approval_requested", context)


# --- booking -------------------------------------------------------------------------------

def _book(actor: Principal, organiser: User, room: Room | None, data: dict, start: datetime, end: datetime,
          now: datetime, series_id: int | None = None, notices: bool = True) -> RoomBooking:
    """Check and insert one booking (the shared core of single bookings and series occurrences)."""
    _check_slot(actor, organiser, room, start, end, data["attendee_count"], now)
    deadline = _deadline(room, start, now)
    booking = RoomBooking(
        room_id=room.id, user_id=organiser.id, booked_by_id=actor.user_id, department_id=organiser.department_id,
        subject=data["subject"], attendee_count=data["attendee_count"], note=data.get("note"),
        start_at=start, end_at=end, blocked_until=rules.blocked_until(room, end),
        status="pending" if deadline else "approved", approval_deadline=deadline, series_id=series_id)
    rules.occupy(booking)
    ROOM.record_creation(booking, actor)
    _set_attendees(booking, data.get("attendee_ids") or [])
    _set_services(booking, data.get("services") or [], now)
    if notices:
        _announce(booking)
    return booking


def _announce(booking: RoomBooking) -> None:
    notify_people(booking, "room_invited", organiser=booking.organiser.name)
    if booking.status == "pending":
        _notify_approvers(booking)


def create_booking(actor: Principal, data: dict, now: datetime | None = None) -> RoomBooking:
    """Book a room (BookingCreateSchema's fields)."""
    now = _now(now)
    organiser = _organiser(actor, data.get("on_behalf_of"))
    data = {**data, "attendee_ids": _staff(data.get("attendee_ids") or [])}
    return _book(actor, organiser, get_row(Room, data["room_id"]), data, data["start_at"], data["end_at"], now)


def update_booking(actor: Principal, booking_id: int, data: dict, now: datetime | None = None, *,
                   notices: bool = True) -> RoomBooking:
    """Edit a pending or approved booking before its start (organiser side). A new time or room
    is checked like a new booking (quotas without this booking) and taken through `rules.occupy`;
    in a room needing approval an approved booking goes back to pending with a new deadline.
    `notices=False`: the caller tells the attendees (a series tells them once)."""
    now = _now(now)
    booking = get_booking(actor, booking_id)
    if not rules.acts_for(actor, booking):
        raise AppError("FORBIDDEN")
    if not editable(booking, now):
        raise AppError("ROOM_EDIT_CLOSED", details={"status": booking.status})
    room_id = data.get("room_id", booking.room_id)
    room = booking.room if room_id == booking.room_id else rules.check_room(get_row(Room, room_id))
    start, end = data.get("start_at", booking.start_at), data.get("end_at", booking.end_at)
    moved = (room.id, start, end) != (booking.room_id, booking.start_at, booking.end_at)
    count = data.get("attendee_count", booking.attendee_count)
    people = _staff(data["attendee_ids"]) if "attendee_ids" in data else None
    deadline = _deadline(room, start, now)
    if moved:
        if booking.status == "pending" and deadline is None:
            raise AppError("ROOM_PENDING_MOVE", details={"room_id": room.id})
        _check_slot(actor, booking.organiser, room, start, end, count, now, exclude_id=booking.id)
    elif count != booking.attendee_count:
        rules.check_capacity(room, count)
    for key in ("subject", "attendee_count", "note"):
        if key in data:
            setattr(booking, key, data[key])
    if moved:
        rules.occupy(booking, room_id=room.id, start_at=start, end_at=end,
                     blocked_until=rules.blocked_until(room, end), approval_deadline=deadline)
        if booking.status == "approved" and deadline is not None:
            ROOM.transition(booking, "resubmit", actor, note="变更时间或会议室")
    added = _set_attendees(booking, people) if people is not None else []
    if "services" in data:
        _set_services(booking, data["services"], now)
    if moved:
        reschedule_services(booking, now)
    db.session.flush()
    db.session.refresh(booking)
    if moved and booking.status == "pending":
        _notify_approvers(booking)
    if notices:
        _tell_attendees(booking, added, moved)
    return booking


def _tell_attendees(booking: RoomBooking, added: list[int], moved: bool, **extra) -> None:
    """Invite the newly added attendees; tell the others of a new time or room."""
    for user_id in added:
        notify(user_id, "room_invited", notice_context(booking, organiser=booking.organiser.name, **extra))
    if moved:
        for user_id in attendee_ids(booking.id):
            if user_id not in added:
                notify(user_id, "room_booking_changed", notice_context(booking, **extra))


def cancel(actor: Principal, booking_id: int, reason: str | None = None, now: datetime | None = None, *,
           notices: bool = True) -> RoomBooking:
    """The organiser's side cancels before the start (administrators use adminops.admin_cancel,
    which records a reason and offers alternatives)."""
    now = _now(now)
    booking = get_booking(actor, booking_id)
    if not rules.acts_for(actor, booking):
        raise AppError("FORBIDDEN")
    if now >= booking.start_at and booking.status in LIVE:
        raise AppError("ROOM_CANCEL_CLOSED", details={"start_at": local(booking.start_at).isoformat()})
    ROOM.transition(booking, "cancel", actor, note=reason)
    cancel_open_services(booking.id)
    if notices:
        notify_people(booking, "room_booking_cancelled", reason=_reason_text(reason))
    return booking


def _reason_text(reason: str | None) -> str:
    return f"原因：{reason}" if reason else ""


# --- approval ------------------------------------------------------------------------------

def approvals_query(actor: Principal, now: datetime | None = None):
    """Pending bookings the actor may approve (deadline not passed), soonest first."""
    stmt = select(RoomBooking).join(Room, Room.id == RoomBooking.room_id).where(
        RoomBooking.status == "pending",
        or_(RoomBooking.approval_deadline.is_(None), RoomBooking.approval_deadline > _now(now)))
    if not (actor.is_admin or rules.global_approver(actor)):
        rooms = [sid for role, kind, sid in actor.grants if role == "room_approver" and kind == "room"]
        departments = [sid for role, kind, sid in actor.grants if role == "room_approver" and kind == "department"]
        stmt = stmt.where(or_(and_(Room.approval == "room", RoomBooking.room_id.in_(rooms)),
                              and_(Room.approval == "department", RoomBooking.department_id.in_(departments))))
    return stmt.order_by(RoomBooking.start_at, RoomBooking.id)


def _pending_decision(actor: Principal, booking_id: int, now: datetime) -> RoomBooking:
    booking = get_row(RoomBooking, booking_id)
    ensure_visible(booking is not None and rules.may_approve(actor, booking))
    if booking.status == "pending" and booking.approval_deadline and now >= booking.approval_deadline:
        raise AppError("ROOM_APPROVAL_EXPIRED", details={"deadline": local(booking.approval_deadline).isoformat()})
    return booking


def approve(actor: Principal, booking_id: int, now: datetime | None = None) -> RoomBooking:
    booking = _pending_decision(actor, booking_id, _now(now))
    ROOM.transition(booking, "approve", actor, values={"approval_deadline": None})
    notify_people(booking, "room_booking_approved", attendees=False, organiser_side=True)
    return booking


def reject(actor: Principal, booking_id: int, reason: str, now: datetime | None = None) -> RoomBooking:
    booking = _pending_decision(actor, booking_id, _now(now))
    ROOM.transition(booking, "reject", actor, note=reason, values={"decision_reason": reason})
    cancel_open_services(booking.id)
    notify_people(booking, "room_booking_rejected", attendees=False, organiser_side=True, reason=reason)
    return booking


# --- series --------------------------------------------------------------------------------

def expand(start: datetime, end: datetime, recurrence: dict) -> list[tuple[datetime, datetime]]:
    """The occurrences of a recurrence from the first one, on Asia/Shanghai wall time."""
    first = local(start).replace(tzinfo=None)
    duration = end - start
    options = {"dtstart": first, "interval": recurrence.get("interval", 1)}
    if recurrence["frequency"] == "weekly":
        options["byweekday"] = sorted(set(recurrence.get("weekdays") or [first.weekday()]))
    if recurrence.get("until"):
        options["until"] = datetime.combine(recurrence["until"], time.max)
    else:
        options["count"] = recurrence["count"]
    limit = current_app.config["ROOM_SERIES_MAX"]
    moments = list(itertools.islice(rrule(FREQUENCIES[recurrence["frequency"]], **options), limit + 1))
    if not moments or len(moments) > limit:
        raise AppError("ROOM_SERIES_TOO_LONG", details={"max": limit})
    return [(m.replace(tzinfo=SHANGHAI), m.replace(tzinfo=SHANGHAI) + duration) for m in moments]


def _outcome(start: datetime, end: datetime, error: AppError | None, booking: RoomBooking | None = None) -> dict:
    return {"start_at": start, "end_at": end, "ok": error is None, "booking_id": booking.id if booking else None,
            "code": error.code if error else None, "message": error.message if error else None,
            "conflicts": (error.details or {}).get("conflicts", []) if error else []}


def _try_book(actor, organiser, room, data, start, end, now, series_id) -> tuple[RoomBooking | None, AppError | None]:
    try:
        with db.session.begin_nested():
            return _book(actor, organiser, room, data, start, end, now, series_id, notices=False), None
    except AppError as error:
        return None, error


def create_series(actor: Principal, data: dict, now: datetime | None = None,
                  preview: bool = False) -> tuple[RoomSeries | None, list[dict]]:
    """Book every occurrence (see the module's docstring); preview books nothing."""
    now = _now(now)
    organiser = _organiser(actor, data.get("on_behalf_of"))
    data = {**data, "attendee_ids": _staff(data.get("attendee_ids") or [])}
    room = rules.check_room(get_row(Room, data["room_id"]))
    occurrences = expand(data["start_at"], data["end_at"], data["recurrence"])
    recurrence = data["recurrence"]
    series = RoomSeries(room_id=room.id, user_id=organiser.id, booked_by_id=actor.user_id,
                        frequency=recurrence["frequency"], interval=recurrence.get("interval", 1),
                        weekdays=sorted(set(recurrence.get("weekdays") or []))
                        if recurrence["frequency"] == "weekly" else [],
                        until=recurrence.get("until"), count=None if recurrence.get("until") else recurrence["count"],
                        first_start=data["start_at"],
                        minutes=(data["end_at"] - data["start_at"]) // timedelta(minutes=1))
    savepoint = db.session.begin_nested()
    db.session.add(series)
    db.session.flush()
    report, booked = [], []
    for start, end in occurrences:
        booking, error = _try_book(actor, organiser, room, data, start, end, now, series.id)
        report.append(_outcome(start, end, error, booking))
        if booking is not None:
            booked.append(booking)
    if preview:
        savepoint.rollback()
        return None, [{**r, "booking_id": None} for r in report]
    if not booked or (len(booked) < len(report) and not data.get("book_available")):
        savepoint.rollback()
        raise AppError("ROOM_SERIES_CONFLICTS", details={"occurrences": [_json(r) for r in report]})
    savepoint.commit()
    _announce_series(booked)
    return series, report


def _json(outcome: dict) -> dict:
    return {**outcome, "start_at": local(outcome["start_at"]).isoformat(),
            "end_at": local(outcome["end_at"]).isoformat()}


def _announce_series(booked: list[RoomBooking]) -> None:
    """One invitation per attendee for the whole series; the approvers for every pending occurrence."""
    first = booked[0]
    notify_people(first, "room_invited", organiser=first.organiser.name, when=_series_when(booked))
    for booking in booked:
        if booking.status == "pending":
            _notify_approvers(booking)


def _series_when(bookings: list[RoomBooking]) -> str:
    """"6月3日 09:00-10:00 起共 5 场" (the first occurrence, and how many)."""
    text = when_text(bookings[0].start_at, bookings[0].end_at)
    return text if len(bookings) == 1 else f"{text} 起共 {len(bookings)} 场"


def get_series(actor: Principal, series_id: int) -> RoomSeries:
    series = get_row(RoomSeries, series_id)
    ensure_visible(series is not None and (actor.user_id in (series.user_id, series.booked_by_id)
                                           or actor.reads_everything))
    return series


def series_bookings(series_id: int) -> list[RoomBooking]:
    return list(db.session.execute(select(RoomBooking).where(RoomBooking.series_id == series_id)
                                   .order_by(RoomBooking.start_at)).scalars())


def _future(series: RoomSeries, now: datetime) -> list[RoomBooking]:
    return [b for b in series_bookings(series.id) if b.status in LIVE and b.start_at > now]


def _series_for_organiser(actor: Principal, series_id: int) -> RoomSeries:
    series = get_series(actor, series_id)
    if actor.user_id not in (series.user_id, series.booked_by_id):
        raise AppError("FORBIDDEN")
    return series


def update_series(actor: Principal, series_id: int, data: dict, now: datetime | None = None) -> list[dict]:
    """Apply booking fields (and optionally a new local start time and length) to every future
    occurrence; each one's outcome is reported, a failing one is left as it was. Attendees are
    told once for the whole series."""
    now = _now(now)
    series = _series_for_organiser(actor, series_id)
    if series.cancelled_at is not None:
        raise AppError("ROOM_EDIT_CLOSED", "该周期会议已取消")
    fields = {k: data[k] for k in ("subject", "attendee_count", "note", "attendee_ids", "services") if k in data}
    retime = "start_time" in data or "minutes" in data
    report, changed, added = [], [], {}
    for booking in _future(series, now):
        changes = dict(fields)
        if retime:
            day = local(booking.start_at).date()
            start = (datetime.combine(day, data["start_time"], SHANGHAI) if "start_time" in data
                     else booking.start_at)
            minutes = data.get("minutes", (booking.end_at - booking.start_at) // timedelta(minutes=1))
            changes.update(start_at=start, end_at=start + timedelta(minutes=minutes))
        start, end = changes.get("start_at", booking.start_at), changes.get("end_at", booking.end_at)
        moved = (start, end) != (booking.start_at, booking.end_at)
        before = set(attendee_ids(booking.id))
        try:
            with db.session.begin_nested():
                update_booking(actor, booking.id, changes, now, notices=False)
        except AppError as error:
            report.append(_outcome(start, end, error, booking))
            continue
        report.append(_outcome(start, end, None, booking))
        changed.append((booking, moved))
        added.update(dict.fromkeys(u for u in attendee_ids(booking.id) if u not in before))
    if changed:
        bookings = [b for b, _ in changed]
        _tell_attendees(bookings[0], list(added), any(m for _, m in changed), when=_series_when(bookings))
    if retime and "minutes" in data:
        series.minutes = data["minutes"]
    return report


def cancel_series(actor: Principal, series_id: int, reason: str | None = None,
                  now: datetime | None = None) -> int:
    """Cancel every future occurrence (attendees told once); returns how many."""
    now = _now(now)
    series = _series_for_organiser(actor, series_id)
    cancelled = [cancel(actor, booking.id, reason, now, notices=False) for booking in _future(series, now)]
    series.cancelled_at = now
    if cancelled:
        people = dict.fromkeys(u for b in cancelled for u in attendee_ids(b.id))
        context = notice_context(cancelled[0], when=_series_when(cancelled), reason=_reason_text(reason))
        for user_id in people:
            notify(user_id, "room_booking_cancelled", context)
    return len(cancelled)


# --- delegations ---------------------------------------------------------------------------

def delegations_of(actor: Principal) -> list[RoomDelegation]:
    return list(db.session.execute(select(RoomDelegation).where(
        or_(RoomDelegation.leader_id == actor.user_id, RoomDelegation.secretary_id == actor.user_id),
        RoomDelegation.revoked_at.is_(None)).order_by(RoomDelegation.id)).scalars())


def delegate(actor: Principal, secretary_id: int) -> RoomDelegation:
    secretary = get_row(User, secretary_id)
    if secretary is None or secretary.id == actor.user_id or secretary.kind != "staff" or not secretary.is_active:
        raise AppError("ROOM_DELEGATION_INVALID", details={"secretary_id": secretary_id})
    delegation = RoomDelegation(leader_id=actor.user_id, secretary_id=secretary.id)
    try:
        with db.session.begin_nested():
            db.session.add(delegation)
            db.session.flush()
    except IntegrityError as exc:
        if violated_constraint(exc) != "uq_room_delegation_live":
            raise
        raise AppError("ROOM_DELEGATION_EXISTS") from None
    audit.record("rooms.delegation.grant", "room_delegation", delegation.id, {"secretary_id": secretary.id},
                 actor=actor)
    return delegation


def revoke_delegation(actor: Principal, delegation_id: int, now: datetime | None = None) -> RoomDelegation:
    delegation = get_row(RoomDelegation, delegation_id)
    ensure_visible(delegation is not None and (delegation.leader_id == actor.user_id or actor.is_admin))
    if delegation.revoked_at is None:
        delegation.revoked_at = _now(now)
        audit.record("rooms.delegation.revoke", "room_delegation", delegation.id, {}, actor=actor)
    return delegation


# --- quota view ----------------------------------------------------------------------------

def my_quota(actor: Principal, now: datetime | None = None) -> dict:
    """The caller's person quota and use this week and today (Asia/Shanghai)."""
    user = db.session.get(User, actor.user_id)
    quota = _quota("person", user.department_id)
    day = local(_now(now)).date()
    week = day - timedelta(days=day.weekday())
    base = [RoomBooking.user_id == user.id, RoomBooking.status.in_(OCCUPYING_STATES)]
    week_count = db.session.execute(select(func.count()).where(
        *base, *_starting_between(week, week + timedelta(7)))).scalar()
    day_minutes = db.session.execute(select(
        func.coalesce(func.sum(func.extract("epoch", RoomBooking.end_at - RoomBooking.start_at) / 60), 0)).where(
        *base, *_starting_between(day, day + timedelta(1)))).scalar()
    return {"bookings_per_week": quota.bookings_per_week if quota else None, "bookings_this_week": week_count,
            "minutes_per_day": quota.minutes_per_day if quota else None, "minutes_today": int(day_minutes)}

