"""会议室调剂: administrators move or cancel any booking with a reason (a leaders' meeting
needs the big room). The organiser, the booker and attendees are told why; a cancellation
comes with free alternatives of similar size at the same time (capacity at least the
attendee count, best fit first), and a move offers the old slot to the waitlist. Audited."""

from __future__ import annotations

from datetime import datetime

from app import audit
from app.auth import Principal, ensure_visible
from app.errors import AppError
from app.extensions import get_row
from app.notify import register_templates
from blueprints.rooms import booking as bookings
from blueprints.rooms import rules, search, waitlist
from blueprints.rooms.rules import ROOM
from models.rooms import Room, RoomBooking

register_templates({
    # Context: subject, room (new), when (new), old_room, old_when, reason, booking_id.
    "room_booking_moved": {
        "template_id": "", "title": "会议室已调整：{subject}",
        "body": "会议「{subject}」由{old_room}（{old_when}）调整到{room}（{when}）。原因：{reason}",
        "page": "pages/rooms/booking?id={booking_id}",
        "fields": {"thing1": "{subject}", "thing2": "{room}", "time3": "{start}", "thing4": "{reason}"},
        "long_term": False,
    },
    # Context: subject, room, when, reason, alternatives ("301会议室、302会议室" or "暂无"), booking_id.
    "room_booking_cancelled_by_admin": {
        "template_id": "", "title": "会议室预订已被取消：{subject}",
        "body": "您 {when} 在{room}的预订「{subject}」已由管理员取消。原因：{reason}。同时段可用：{alternatives}",
        "page": "pages/rooms/booking?id={booking_id}",
        "fields": {"thing1": "{subject}", "thing2": "{room}", "time3": "{start}", "thing4": "{reason}"},
        "long_term": False,
    },
})

ALTERNATIVES = 3


def _booking(actor: Principal, booking_id: int) -> RoomBooking:
    booking = get_row(RoomBooking, booking_id)
    ensure_visible(booking is not None and actor.is_admin)
    return booking


def alternatives(booking: RoomBooking, limit: int = ALTERNATIVES) -> list[dict]:
    """Free rooms (cards) for the booking's time, big enough for its attendees, best fit first."""
    return search.free_rooms(booking.start_at, booking.end_at, capacity=booking.attendee_count,
                             exclude_room_id=booking.room_id, per_page=limit, far_ahead_ok=True)["items"]


def alternatives_for(actor: Principal, booking_id: int) -> list[dict]:
    return alternatives(_booking(actor, booking_id))


def move(actor: Principal, booking_id: int, data: dict, now: datetime | None = None) -> RoomBooking:
    """Move a pending or approved booking to another room and/or time (status unchanged)."""
    now = now or rules.clock()
    booking = _booking(actor, booking_id)
    if booking.status not in bookings.LIVE:
        raise AppError("INVALID_TRANSITION", f"当前状态为「{ROOM.label(booking.status)}」，不能调剂",
                       details={"current": booking.status})
    room = rules.check_room(get_row(Room, data.get("room_id", booking.room_id)))
    start, end = data.get("start_at", booking.start_at), data.get("end_at", booking.end_at)
    rules.check_times(room, start, end, now, far_ahead_ok=True)
    rules.check_blackouts(room, start, end)
    if booking.attendee_count > room.capacity:
        raise AppError("ROOM_CAPACITY_EXCEEDED", f"「{room.name}」最多容纳 {room.capacity} 人",
                       details={"capacity": room.capacity})
    old = {"room_id": booking.room_id, "room": booking.room.name, "start_at": booking.start_at,
           "end_at": booking.end_at, "blocked_until": booking.blocked_until}
    rules.occupy(booking, room_id=room.id, start_at=start, end_at=end, blocked_until=rules.blocked_until(room, end),
                 decision_reason=data["reason"])
    bookings.reschedule_services(booking, now)
    audit.record("rooms.booking.move", "room_booking", booking.id, {
        "reason": data["reason"], "from": {"room_id": old["room_id"], "start_at": old["start_at"].isoformat(),
                                           "end_at": old["end_at"].isoformat()},
        "to": {"room_id": room.id, "start_at": start.isoformat(), "end_at": end.isoformat()}}, actor=actor)
    bookings.notify_people(booking, "room_booking_moved", organiser_side=True, reason=data["reason"],
                           old_room=old["room"], old_when=bookings.when_text(old["start_at"], old["end_at"]))
    waitlist.offer_freed(old["room_id"], old["start_at"], old["blocked_until"], now)
    return booking


def admin_cancel(actor: Principal, booking_id: int, reason: str) -> tuple[RoomBooking, list[Room]]:
    """Cancel any pending or approved booking; returns it and the alternatives offered."""
    booking = _booking(actor, booking_id)
    ROOM.transition(booking, "cancel", actor, note=reason, values={"decision_reason": reason})
    bookings.cancel_open_services(booking.id)
    offered = alternatives(booking)
    audit.record("rooms.booking.cancel", "room_booking", booking.id, {"reason": reason}, actor=actor)
    bookings.notify_people(booking, "room_booking_cancelled_by_admin", organiser_side=True, reason=reason,
                           alternatives="、".join(r["name"] for r in offered) or "暂无")
    return booking, offered
