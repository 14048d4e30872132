"""The waitlist for a taken slot (候补).

Someone whose wanted range is taken joins the room's waitlist. Whenever a room booking lets
its time go — cancelled, rejected, lapsed, released as a no-show (the `order_transitioned`
receiver below, whoever made the transition) or finished early / moved (their code calls
`offer_freed`) — the waiting entries of that room overlapping the freed range are looked at
oldest first, and the first whose own range is now entirely free (bookings with the room's
buffer, blackouts, and any live offer of an overlapping range) is offered it: `offered` until
offer_expires_at (ROOM_WAITLIST_OFFER_MINUTES, or its start if sooner) and notified.

One offer per freed range, whatever runs at once: a room's offers are made under a
transaction-level advisory lock of the room (a second release waits, then sees the first's
offer), and the offer itself is a conditional UPDATE from `waiting`. Whatever changes a room's
entries (offer, expiry, leaving) takes that lock first, so locks are always taken in the order
room lock → entry rows. The offered person books it with `accept` (every booking rule applies;
someone faster may have taken it: 409). An offer that lapses, or is given up, goes to the next
in line (sweep `rooms_deadlines`, `leave`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.auth import Principal, ensure_visible
from app.errors import AppError, register_codes
from app.extensions import db, get_row, violated_constraint
from app.lifecycle import order_transitioned
from app.locks import lock_key
from app.notify import notify, register_templates
from blueprints.rooms import booking, rules
from models.rooms import OCCUPYING_STATES, Room, RoomWaitlist

register_codes({
    "ROOM_WAITLIST_SLOT_FREE": (409, "该时段空闲，可直接预订",
                                "Waitlist: nothing occupies the range; book it instead."),
    "ROOM_WAITLIST_EXISTS": (409, "您已在该时段的候补名单中", "Waitlist: a live entry for this room and start exists."),
    "ROOM_WAITLIST_NOT_OFFERED": (
        409, "尚未轮到您或候补通知已过期", "Waitlist accept: the entry is not offered, or the offer expired."),
})

register_templates({
    # Context: room, when, expires ("10:30"), entry_id.
    "room_waitlist_offer": {
        "template_id": "", "title": "候补的会议室空出来了",
        "body": "您候补的{room}（{when}）现已空出，请在 {expires:%H:%M} 前确认预订，逾期将通知下一位。",
        "page": "pages/rooms/waitlist?id={entry_id}",
        "fields": {"thing1": "{room}", "time2": "{start}", "time3": "{expires}"},
        "long_term": False,
    },
})

RELEASING = ("cancelled", "rejected", "lapsed", "no_show")


def _now(now: datetime | None) -> datetime:
    return now or rules.clock()


def lock_room(room_id: int) -> None:
    """Serialise changes to one room's waitlist until the transaction ends."""
    db.session.execute(select(func.pg_advisory_xact_lock(lock_key(f"room-waitlist:{room_id}"))))


def _free(room: Room, start: datetime, end: datetime, now: datetime) -> bool:
    """Nothing holds [start, end) of the room: no booking (buffer included), no blackout, no
    live offer of an overlapping range (the buffer keeps offers apart as it keeps bookings)."""
    buffer = timedelta(minutes=room.buffer_minutes)
    offered = db.session.execute(select(RoomWaitlist.id).where(
        RoomWaitlist.room_id == room.id, RoomWaitlist.status == "offered", RoomWaitlist.offer_expires_at > now,
        RoomWaitlist.start_at < end + buffer, RoomWaitlist.end_at + buffer > start).limit(1)).first()
    return (offered is None and not rules.overlapping(room.id, start, rules.blocked_until(room, end))
            and rules.blackout_overlapping(room.id, start, end) is None)


def offer_freed(room_id: int, start: datetime, end: datetime, now: datetime | None = None) -> int:
    """Offer a freed range of a room to the first waiting entry that now fits; 0 or 1."""
    now = _now(now)
    lock_room(room_id)
    room = db.session.get(Room, room_id)
    entries = db.session.execute(
        select(RoomWaitlist).where(RoomWaitlist.room_id == room_id, RoomWaitlist.status == "waiting",
                                   RoomWaitlist.start_at < end, RoomWaitlist.end_at > start,
                                   RoomWaitlist.start_at > now)
        .order_by(RoomWaitlist.created_at, RoomWaitlist.id)).scalars().all()
    for entry in entries:
        if _free(room, entry.start_at, entry.end_at, now) and _offer(entry, room, now):
            return 1
    return 0


def _offer(entry: RoomWaitlist, room: Room, now: datetime) -> bool:
    expires = min(now + timedelta(minutes=current_app.config["ROOM_WAITLIST_OFFER_MINUTES"]), entry.start_at)
    offered = db.session.execute(
        update(RoomWaitlist).where(RoomWaitlist.id == entry.id, RoomWaitlist.status == "waiting")
        .values(status="offered", offered_at=now, offer_expires_at=expires)
        .returning(RoomWaitlist.id).execution_options(synchronize_session=False)).scalar()
    if offered is None:
        return False
    notify(entry.user_id, "room_waitlist_offer", {
        "room": room.name, "when": booking.when_text(entry.start_at, entry.end_at), "start": entry.start_at,
        "expires": expires, "entry_id": entry.id})
    return True


@order_transitioned.connect_via(rules.ROOM)
def _released(sender, order, transition, from_state, actor, **kwargs) -> None:
    """Whoever lets a booking's time go (organiser, administrator, sweep), the waitlist hears."""
    if from_state in OCCUPYING_STATES and transition.target in RELEASING:
        offer_freed(order.room_id, order.start_at, order.blocked_until)


# --- the sweep's part (rooms_deadlines) ------------------------------------------------------

def lapsed_offers(now: datetime, after_id: int, limit: int) -> list[tuple[int, int]]:
    """(id, room_id) of offers past offer_expires_at, by id, after `after_id`."""
    return [tuple(row) for row in db.session.execute(
        select(RoomWaitlist.id, RoomWaitlist.room_id).where(
            RoomWaitlist.status == "offered", RoomWaitlist.offer_expires_at <= now, RoomWaitlist.id > after_id)
        .order_by(RoomWaitlist.id).limit(limit))]


def expire_offer(entry_id: int, room_id: int, now: datetime) -> bool:
    """A lapsed offer → expired, and its range offered to the next in line; False when the
    entry moved meanwhile (accepted, given up, expired by another run)."""
    lock_room(room_id)
    row = db.session.execute(
        update(RoomWaitlist).where(RoomWaitlist.id == entry_id, RoomWaitlist.status == "offered",
                                   RoomWaitlist.offer_expires_at <= now)
        .values(status="expired").returning(RoomWaitlist.start_at, RoomWaitlist.end_at)
        .execution_options(synchronize_session=False)).first()
    if row is None:
        return False
    offer_freed(room_id, row.start_at, row.end_at, now)
    return True


def expire_stale(now: datetime) -> int:
    """Waiting entries whose start has passed → expired (nobody will be offered them)."""
    return db.session.execute(
        update(RoomWaitlist).where(RoomWaitlist.status == "waiting", RoomWaitlist.start_at <= now)
        .values(status="expired").execution_options(synchronize_session=False)).rowcount


# --- the staff member's side ---------------------------------------------------------------

def join(actor: Principal, data: dict, now: datetime | None = None) -> RoomWaitlist:
    now = _now(now)
    room = rules.check_room(get_row(Room, data["room_id"]))
    start, end = data["start_at"], data["end_at"]
    rules.check_not_suspended(actor.user_id, now)  # accepting an offer would be refused anyway
    rules.check_department(room, actor.department_id)
    rules.check_times(room, start, end, now)
    rules.check_blackouts(room, start, end)
    rules.check_capacity(room, data["attendee_count"])  # an offer nobody could book delays the next in line
    if not rules.overlapping(room.id, start, rules.blocked_until(room, end)):
        raise AppError("ROOM_WAITLIST_SLOT_FREE")
    entry = RoomWaitlist(room_id=room.id, user_id=actor.user_id, start_at=start, end_at=end,
                         subject=data["subject"], attendee_count=data["attendee_count"])
    try:
        with db.session.begin_nested():
            db.session.add(entry)
            db.session.flush()
    except IntegrityError as exc:
        if violated_constraint(exc) != "uq_room_waitlist_live":
            raise
        raise AppError("ROOM_WAITLIST_EXISTS") from None
    return entry


def mine_query(actor: Principal):
    return (select(RoomWaitlist).where(RoomWaitlist.user_id == actor.user_id)
            .order_by(RoomWaitlist.start_at.desc(), RoomWaitlist.id.desc()))


def _own(actor: Principal, entry_id: int) -> RoomWaitlist:
    entry = get_row(RoomWaitlist, entry_id)
    ensure_visible(entry is not None and entry.user_id == actor.user_id)
    return entry


def leave(actor: Principal, entry_id: int) -> RoomWaitlist:
    """Cancel one's entry; an offer given up goes to the next in line."""
    entry = _own(actor, entry_id)
    lock_room(entry.room_id)
    was = db.session.execute(
        update(RoomWaitlist).where(RoomWaitlist.id == entry.id, RoomWaitlist.status.in_(("waiting", "offered")))
        .values(status="cancelled").returning(RoomWaitlist.status)
        .execution_options(synchronize_session=False)).scalar()
    db.session.refresh(entry)
    if was is not None:
        offer_freed(entry.room_id, entry.start_at, entry.end_at)
    return entry


def accept(actor: Principal, entry_id: int, now: datetime | None = None) -> RoomWaitlist:
    """Book the offered slot (every booking rule applies; a conflict is 409) and mark the
    entry `booked` in the same transaction: if the entry moved meanwhile (expired by the
    sweep, given up), the whole acceptance fails and the caller rolls the booking back."""
    now = _now(now)
    entry = _own(actor, entry_id)
    if entry.status != "offered" or entry.offer_expires_at <= now:
        raise AppError("ROOM_WAITLIST_NOT_OFFERED", details={"status": entry.status})
    made = booking.create_booking(actor, {
        "room_id": entry.room_id, "start_at": entry.start_at, "end_at": entry.end_at, "subject": entry.subject,
        "attendee_count": entry.attendee_count}, now)
    taken = db.session.execute(
        update(RoomWaitlist).where(RoomWaitlist.id == entry.id, RoomWaitlist.status == "offered",
                                   RoomWaitlist.offer_expires_at > now)
        .values(status="booked", booking_id=made.id).returning(RoomWaitlist.id)
        .execution_options(synchronize_session=False)).scalar()
    if taken is None:
        raise AppError("ROOM_WAITLIST_NOT_OFFERED")
    db.session.refresh(entry)
    return entry
