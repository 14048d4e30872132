"""iCalendar (RFC 5545, written with the `icalendar` package): one booking as an .ics file,
and a personal subscription feed behind a secret URL.

The feed URL carries a random secret (`secrets.token_urlsafe`); only its SHA-256 is stored
(RoomFeed.token_hash), so the database never holds a working URL. Creating a feed revokes the
user's previous one (rotation); revoking ends it. The feed lists the user's bookings as
organiser, booker or attendee from FEED_DAYS_BACK days ago on; cancelled ones stay in it as
STATUS:CANCELLED for that long so calendar apps drop them. Subjects appear only when the user
opted in (a calendar app may sync them to a phone or a cloud); otherwise "会议室预订 · 室名"."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import exists, func, or_, select, update

from app.auth import Principal
from app.errors import AppError
from app.extensions import db
from app.locks import lock_key
from app.timeutil import local
from blueprints.rooms import rules
from models.rooms import OCCUPYING_STATES, RoomBooking, RoomBookingAttendee, RoomFeed

FEED_DAYS_BACK = 30
PRODID = "-//jiguan-houqin//rooms//ZH"
STATUS = {"pending": "TENTATIVE", "cancelled": "CANCELLED", "rejected": "CANCELLED", "lapsed": "CANCELLED",
          "no_show": "CANCELLED"}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _event(booking: RoomBooking, with_subject: bool) -> Event:
    event = Event()
    event.add("uid", f"room-booking-{booking.id}@jiguan-houqin")
    event.add("dtstamp", booking.updated_at.astimezone(UTC))
    # Local times with TZID=Asia/Shanghai (the calendar carries the VTIMEZONE): a meeting
    # shows at the room's wall-clock time on any device, across midnight too.
    event.add("dtstart", local(booking.start_at))
    event.add("dtend", local(booking.end_at))
    event.add("summary", booking.subject if with_subject else f"会议室预订 · {booking.room.name}")
    event.add("location", booking.room.place.path)
    event.add("status", STATUS.get(booking.status, "CONFIRMED"))
    # A later change must win in calendar apps: the seconds since creation only grow.
    event.add("sequence", int((booking.updated_at - booking.created_at).total_seconds()))
    return event


def _calendar(name: str, events: Iterable[Event]) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Asia/Shanghai")
    for event in events:
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def booking_ics(booking: RoomBooking) -> bytes:
    """One booking (for someone who may see it in full: with its subject)."""
    return _calendar("会议室预订", [_event(booking, with_subject=True)])


# --- the personal feed ---------------------------------------------------------------------

def live_feed(user_id: int) -> RoomFeed | None:
    return db.session.execute(select(RoomFeed).where(RoomFeed.user_id == user_id,
                                                     RoomFeed.revoked_at.is_(None))).scalar_one_or_none()


def revoke_feed(actor: Principal, now: datetime | None = None) -> bool:
    """End the caller's live feed; False when there was none."""
    return db.session.execute(update(RoomFeed).where(RoomFeed.user_id == actor.user_id, RoomFeed.revoked_at.is_(None))
                              .values(revoked_at=now or rules.clock())).rowcount > 0


def create_feed(actor: Principal, include_subjects: bool, now: datetime | None = None) -> tuple[RoomFeed, str]:
    """A new feed (the previous one revoked); returns it and its secret token, shown once."""
    # Two requests at once: the second waits, then revokes the first's feed.
    db.session.execute(select(func.pg_advisory_xact_lock(lock_key(f"room-feed:{actor.user_id}"))))
    revoke_feed(actor, now)
    token = secrets.token_urlsafe(32)
    feed = RoomFeed(user_id=actor.user_id, token_hash=_hash(token), include_subjects=include_subjects)
    db.session.add(feed)
    db.session.flush()
    return feed, token


def feed_ics(token: str, now: datetime | None = None) -> bytes:
    """The feed of a live token; NOT_FOUND for an unknown or revoked one."""
    feed = db.session.execute(select(RoomFeed).where(RoomFeed.token_hash == _hash(token),
                                                     RoomFeed.revoked_at.is_(None))).scalar_one_or_none()
    if feed is None:
        raise AppError("NOT_FOUND")
    since = (now or rules.clock()) - timedelta(days=FEED_DAYS_BACK)
    attends = exists().where(RoomBookingAttendee.booking_id == RoomBooking.id,
                             RoomBookingAttendee.user_id == feed.user_id)
    rows = db.session.execute(select(RoomBooking).where(
        or_(RoomBooking.user_id == feed.user_id, RoomBooking.booked_by_id == feed.user_id, attends),
        RoomBooking.end_at >= since,
        RoomBooking.status.in_((*OCCUPYING_STATES, *STATUS))).order_by(RoomBooking.start_at)).scalars()
    return _calendar("我的会议室预订", (_event(booking, feed.include_subjects) for booking in rows))
