"""Meeting rooms: the booking lifecycle, who may do what, the time rules, and the one way a
booking takes a room (`occupy`). Shared by booking, search, the check-in loop, the property
company's tasks and the admin panel.

Time rules (Asia/Shanghai), `check_times(room, start, end, now)` raises, in this order:
- ROOM_RANGE_INVALID: end not after start, or times not on whole minutes;
- ROOM_IN_PAST: the start is before now;
- ROOM_TOO_SHORT / ROOM_TOO_LONG: outside the room's min_minutes..max_minutes;
- ROOM_TOO_FAR_AHEAD: the start's local date is more than advance_days after today
  (administrators are exempt: `far_ahead_ok=True`);
- ROOM_NOT_OPEN_DAY: the opening window it falls in starts on a day the room is closed (a
  workdays-only room on a weekend or holiday by the platform calendar);
- ROOM_OUTSIDE_HOURS: not inside one opening window. A window runs from opens_at on a day to
  closes_at that day, or on the next day when closes_at <= opens_at (past midnight; equal
  means round the clock), so a booking may cross midnight only in such a room.
`check_blackouts(room, start, end)` raises ROOM_BLACKOUT for an overlapping blackout of the
room or of every room.

Taking a room: `occupy(booking)` inserts a new booking, `occupy(booking, room_id=...,
start_at=..., end_at=..., blocked_until=...)` moves one, in a savepoint; the exclusion
constraint `ex_room_booking_no_overlap` (models/rooms.py) decides, and a violation becomes 409
ROOM_TIME_CONFLICT naming the conflicting times only (never owner or subject).
`blocked_until(room, end)` is the end plus the room's buffer.

Who (all through `acts_for`, `may_approve`, `can_see_details`):
- the organiser (`user_id`) and whoever booked for them (`booked_by_id`, a secretary with the
  leader's delegation) act for the booking: edit, cancel, check in, finish;
- attendees listed on it see it and may check in;
- approvers: administrators, global room approvers, approvers scoped to the room (approval
  "room") or to the organiser's department (approval "department");
- everyone else sees only that a slot is taken and by which department (`public_slot`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.auth import Principal
from app.errors import AppError, register_codes
from app.extensions import db, violated_constraint
from app.lifecycle import Lifecycle, Transition
from app.timeutil import SHANGHAI, local, utcnow
from app.workcalendar import is_workday
from models.rooms import (
    BOOKING_STATES,
    OCCUPYING_STATES,
    Room,
    RoomBlackout,
    RoomBooking,
    RoomBookingAttendee,
    RoomDelegation,
    RoomSuspension,
)

register_codes({
    "ROOM_NOT_FOUND": (404, "会议室不存在", "Rooms: no active room with this id (or not visible)."),
    "ROOM_INACTIVE": (422, "该会议室已停用", "Booking: the room is disabled."),
    "ROOM_CAPACITY_EXCEEDED": (422, "参会人数超过会议室容量", "Booking: attendee_count above the room's capacity "
                                                         "(`details.capacity`)."),
    "ROOM_DEPARTMENT_NOT_ALLOWED": (
        403, "您所在部门不能预订该会议室", "Booking: the room lists the departments that may book it; the "
                                    "organiser's is not one of them."),
    "ROOM_RANGE_INVALID": (
        422, "时间范围无效：结束时间须晚于开始时间，且精确到分钟",
        "Booking/search: end not after start, or a time with seconds."),
    "ROOM_IN_PAST": (422, "不能预订已经过去的时间", "Booking: the start is before now."),
    "ROOM_TOO_SHORT": (422, "会议时长短于该会议室的最短时长", "Booking: shorter than the room's min_minutes "
                                                     "(`details.min_minutes`)."),
    "ROOM_TOO_LONG": (422, "会议时长超过该会议室的最长时长", "Booking: longer than the room's max_minutes "
                                                    "(`details.max_minutes`)."),
    "ROOM_TOO_FAR_AHEAD": (422, "超出可提前预订的天数", "Booking: the start's date is more than the room's "
                                                  "advance_days ahead (`details.last_day`)."),
    "ROOM_NOT_OPEN_DAY": (422, "该会议室当天不开放", "Booking: a workdays-only room on a day off (calendar)."),
    "ROOM_OUTSIDE_HOURS": (
        422, "超出会议室开放时间", "Booking: not inside one opening window (`details.opens_at`, `closes_at`)."),
    "ROOM_BLACKOUT": (
        409, "该时段会议室暂停使用", "Booking: overlaps a blackout (`details.starts_at`, `ends_at`, `reason`)."),
    "ROOM_TIME_CONFLICT": (
        409, "该时段会议室已被预订",
        "Booking: the room is taken (exclusion constraint); `details.conflicts` lists the conflicting "
        "bookings' start_at/end_at (buffer included in blocked_until), never who booked them."),
    "ROOM_SUSPENDED": (
        403, "您的会议室预订已被暂停", "Booking: suspended after no-shows (`details.ends_at`, `reason`)."),
})

ROUND_THE_CLOCK = timedelta(days=1)


def clock() -> datetime:
    """Now (UTC). Every rooms module reads the time through `rules.clock()` (or a `now=`
    argument), so tests fix it in one place (the `room_clock` fixture)."""
    return utcnow()


# --- lifecycle ------------------------------------------------------------------------------

def acts_for(actor: Principal, booking: RoomBooking) -> bool:
    """The organiser, or whoever booked it for them."""
    return actor.user_id in (booking.user_id, booking.booked_by_id)


def is_attendee(user_id: int, booking_id: int) -> bool:
    return bool(db.session.execute(select(exists().where(
        RoomBookingAttendee.booking_id == booking_id, RoomBookingAttendee.user_id == user_id))).scalar())


def may_approve(actor: Principal, booking: RoomBooking) -> bool:
    if actor.is_admin or global_approver(actor):
        return True
    approval = booking.room.approval
    if approval == "room":
        return actor.has_role("room_approver", "room", booking.room_id)
    if approval == "department" and booking.department_id is not None:
        return actor.has_role("room_approver", "department", booking.department_id)
    return False


def global_approver(actor: Principal) -> bool:
    """A room approver for every room (a global grant; scoped grants are checked per booking)."""
    return any(role == "room_approver" and kind == "global" for role, kind, _ in actor.grants)


def can_see_details(actor: Principal, booking: RoomBooking) -> bool:
    """Subject, attendees, services: the organiser's side, attendees, approvers, admins/auditors."""
    return (acts_for(actor, booking) or actor.reads_everything or may_approve(actor, booking)
            or is_attendee(actor.user_id, booking.id))


def public_slot(booking: RoomBooking) -> dict:
    """What anyone may see of a taken slot."""
    return {"start_at": booking.start_at, "end_at": booking.end_at, "status": booking.status,
            "status_label": BOOKING_STATES[booking.status],
            "department": booking.department.name if booking.department else None}


def _acts(actor: Principal, booking: RoomBooking) -> bool:
    return acts_for(actor, booking)


def _acts_or_admin(actor: Principal, booking: RoomBooking) -> bool:
    return actor.is_admin or acts_for(actor, booking)


def _checks_in(actor: Principal, booking: RoomBooking) -> bool:
    return acts_for(actor, booking) or is_attendee(actor.user_id, booking.id)


ROOM = Lifecycle(
    order_type="room_booking", model=RoomBooking, states=BOOKING_STATES,
    transitions=[
        Transition("approve", source=("pending",), target="approved", roles=("room_approver", "admin"),
                   label="审批通过", authorize=may_approve),
        Transition("reject", source=("pending",), target="rejected", roles=("room_approver", "admin"),
                   label="驳回", authorize=may_approve),
        Transition("lapse", source=("pending",), target="lapsed", roles=("system",), label="审批超时"),
        # An edit of the time or room of an approved booking in a room that needs approval.
        Transition("resubmit", source=("approved",), target="pending", roles=("staff", "admin"),
                   label="变更后重新审批", authorize=_acts),
        Transition("cancel", source=("pending", "approved"), target="cancelled", roles=("staff", "admin"),
                   label="取消", authorize=_acts_or_admin),
        Transition("check_in", source=("approved",), target="checked_in", roles=("staff",), label="签到",
                   authorize=_checks_in),
        Transition("finish", source=("checked_in",), target="finished", roles=("staff",), label="提前结束",
                   authorize=_acts),
        # The sweep closes meetings at their end (checked in, or in a room without check-in).
        Transition("close", source=("approved", "checked_in"), target="finished", roles=("system",),
                   label="会议结束"),
        Transition("mark_no_show", source=("approved",), target="no_show", roles=("system",),
                   label="未签到自动释放"),
    ],
    title="会议室预订", visible=can_see_details, rateable=("finished",),
    contractor=lambda booking: booking.room.property_company_id,
)


# --- time rules ----------------------------------------------------------------------------

def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=SHANGHAI)


def opening_window(room: Room, day: date) -> tuple[datetime, datetime]:
    """The opening window that starts on `day` (its end may be on the next day)."""
    start, end = _at(day, room.opens_at), _at(day, room.closes_at)
    if end <= start:
        end += ROUND_THE_CLOCK
    return start, end


def open_on(room: Room, day: date) -> bool:
    return room.open_days == "every_day" or is_workday(day)


def window_of(room: Room, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
    """The opening window (of any day, open or not) holding [start, end), if one does."""
    first = local(start).date()
    for day in (first - timedelta(days=1), first):
        window_start, window_end = opening_window(room, day)
        if window_start <= start and end <= window_end:
            return window_start, window_end
    return None


def blocked_until(room: Room, end: datetime) -> datetime:
    return end + timedelta(minutes=room.buffer_minutes)


def check_room(room: Room | None) -> Room:
    if room is None:
        raise AppError("ROOM_NOT_FOUND")
    if not room.is_active:
        raise AppError("ROOM_INACTIVE", f"「{room.name}」已停用", details={"room_id": room.id})
    return room


def check_department(room: Room, department_id: int | None) -> None:
    if room.departments and department_id not in {d.id for d in room.departments}:
        raise AppError("ROOM_DEPARTMENT_NOT_ALLOWED", details={
            "room_id": room.id, "departments": [d.name for d in room.departments]})


def check_range(start: datetime, end: datetime) -> None:
    """Shape only (search uses it too): end after start, whole minutes."""
    if end <= start or any(t.second or t.microsecond for t in (start, end)):
        raise AppError("ROOM_RANGE_INVALID", details={"start_at": local(start).isoformat(),
                                                      "end_at": local(end).isoformat()})


def check_times(room: Room, start: datetime, end: datetime, now: datetime, *, far_ahead_ok: bool = False) -> None:
    check_range(start, end)
    if start < now:
        raise AppError("ROOM_IN_PAST", details={"start_at": local(start).isoformat()})
    minutes = (end - start) // timedelta(minutes=1)
    if minutes < room.min_minutes:
        raise AppError("ROOM_TOO_SHORT", f"「{room.name}」每次至少预订 {room.min_minutes} 分钟",
                       details={"min_minutes": room.min_minutes})
    if minutes > room.max_minutes:
        raise AppError("ROOM_TOO_LONG", f"「{room.name}」每次最多预订 {room.max_minutes} 分钟",
                       details={"max_minutes": room.max_minutes})
    last_day = local(now).date() + timedelta(days=room.advance_days)
    if not far_ahead_ok and local(start).date() > last_day:
        raise AppError("ROOM_TOO_FAR_AHEAD", f"「{room.name}」最多提前 {room.advance_days} 天预订",
                       details={"advance_days": room.advance_days, "last_day": last_day.isoformat()})
    window = window_of(room, start, end)
    hours = {"opens_at": room.opens_at.strftime("%H:%M"), "closes_at": room.closes_at.strftime("%H:%M")}
    if window is None:
        raise AppError("ROOM_OUTSIDE_HOURS",
                       f"「{room.name}」开放时间为 {hours['opens_at']}–{hours['closes_at']}", details=hours)
    if not open_on(room, local(window[0]).date()):
        raise AppError("ROOM_NOT_OPEN_DAY", details={"day": local(window[0]).date().isoformat(),
                                                     "open_days": room.open_days})


def blackout_overlapping(room_id: int, start: datetime, end: datetime) -> RoomBlackout | None:
    return db.session.execute(
        select(RoomBlackout).where(or_(RoomBlackout.room_id == room_id, RoomBlackout.room_id.is_(None)),
                                   RoomBlackout.starts_at < end, RoomBlackout.ends_at > start)
        .order_by(RoomBlackout.starts_at).limit(1)).scalar_one_or_none()


def check_capacity(room: Room, attendee_count: int) -> None:
    if attendee_count > room.capacity:
        raise AppError("ROOM_CAPACITY_EXCEEDED", f"「{room.name}」最多容纳 {room.capacity} 人",
                       details={"capacity": room.capacity})


def check_blackouts(room: Room, start: datetime, end: datetime) -> None:
    blackout = blackout_overlapping(room.id, start, end)
    if blackout is not None:
        raise AppError("ROOM_BLACKOUT", f"该时段会议室暂停使用：{blackout.reason}", details={
            "starts_at": local(blackout.starts_at).isoformat(), "ends_at": local(blackout.ends_at).isoformat(),
            "reason": blackout.reason})


def active_suspension(user_id: int, now: datetime) -> RoomSuspension | None:
    return db.session.execute(
        select(RoomSuspension).where(RoomSuspension.user_id == user_id, RoomSuspension.lifted_at.is_(None),
                                     RoomSuspension.starts_at <= now, RoomSuspension.ends_at > now)
        .order_by(RoomSuspension.ends_at.desc()).limit(1)).scalar_one_or_none()


def check_not_suspended(user_id: int, now: datetime) -> None:
    suspension = active_suspension(user_id, now)
    if suspension is not None:
        until = local(suspension.ends_at)
        raise AppError("ROOM_SUSPENDED", f"{suspension.reason}，会议室预订暂停至 {until:%Y-%m-%d %H:%M}",
                       details={"ends_at": until.isoformat(), "reason": suspension.reason})


def delegated(leader_id: int, secretary_id: int) -> bool:
    """Whether `secretary_id` may book for `leader_id` now."""
    return bool(db.session.execute(select(exists().where(
        RoomDelegation.leader_id == leader_id, RoomDelegation.secretary_id == secretary_id,
        RoomDelegation.revoked_at.is_(None)))).scalar())


# --- taking the room ------------------------------------------------------------------------

def overlapping(room_id: int, start: datetime, until: datetime, exclude_id: int | None = None) -> list[RoomBooking]:
    """Occupying bookings of the room whose blocked range meets [start, until)."""
    stmt = select(RoomBooking).where(
        RoomBooking.room_id == room_id, RoomBooking.status.in_(OCCUPYING_STATES),
        func.tstzrange(RoomBooking.start_at, RoomBooking.blocked_until).op("&&")(func.tstzrange(start, until)))
    if exclude_id is not None:
        stmt = stmt.where(RoomBooking.id != exclude_id)
    return list(db.session.execute(stmt.order_by(RoomBooking.start_at)).scalars())


def conflict_details(bookings: list[RoomBooking]) -> dict:
    return {"conflicts": [{"start_at": local(b.start_at).isoformat(), "end_at": local(b.end_at).isoformat(),
                           "blocked_until": local(b.blocked_until).isoformat()} for b in bookings]}


def occupy(booking: RoomBooking, **values) -> RoomBooking:
    """Insert a new `booking`, or move an existing one to `values` (room_id, start_at, end_at,
    blocked_until), in a savepoint: the exclusion constraint decides. The new values are set
    inside the savepoint (SQLAlchemy flushes pending changes when a savepoint begins, so a
    change made before would be flushed outside it). On a conflict the savepoint is rolled
    back — a new booking is not kept, a moved one keeps its old time — and 409
    ROOM_TIME_CONFLICT names the conflicting times."""
    room_id = values.get("room_id", booking.room_id)
    start = values.get("start_at", booking.start_at)
    until = values.get("blocked_until", booking.blocked_until)
    booking_id = booking.id
    try:
        with db.session.begin_nested():
            for key, value in values.items():
                setattr(booking, key, value)
            db.session.add(booking)
            db.session.flush()
    except IntegrityError as exc:
        if violated_constraint(exc) != "ex_room_booking_no_overlap":
            raise
        raise AppError("ROOM_TIME_CONFLICT", details=conflict_details(
            overlapping(room_id, start, until, exclude_id=booking_id))) from None
    if values:
        db.session.expire(booking)  # relationships (room) follow the new values
    return booking
