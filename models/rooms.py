"""Meeting rooms (会议室预订): rooms and their rules, blackouts, quotas, bookings (a
Lifecycle, see blueprints/rooms/rules.py), recurring series, attendees, service tasks for the
property company, waitlists, delegations (a secretary books for a leader), no-show
suspensions and personal calendar feeds.

What the database guarantees by itself:
- no double booking: the exclusion constraint `ex_room_booking_no_overlap` over the room and
  `tstzrange(start_at, blocked_until)` of occupying bookings (pending, approved, checked_in,
  finished). `blocked_until` is the end plus the room's buffer when booked, so a buffer keeps
  meetings apart on both sides and back-to-back bookings ([) ranges) meet without a buffer;
- one service task of each kind per booking, one live delegation per leader and secretary,
  one live calendar feed per user, one live waitlist entry per person, room and start.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Time,
    UniqueConstraint,
    column,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from models.identity import Department, TimestampMixin, User, in_check
from models.places import Place

EQUIPMENT: dict[str, str] = {"projector": "投影仪", "video_conference": "视频会议", "whiteboard": "白板",
                             "microphones": "话筒"}
OPEN_DAYS: dict[str, str] = {"workdays": "工作日（按工作日历）", "every_day": "每天"}
# Who approves a room's bookings: nobody (booked at once), the room's approvers
# (room_approver scoped to the room, or global), or the organiser's department's approvers
# (room_approver scoped to that department, or global). Administrators may always approve.
APPROVAL_MODES: dict[str, str] = {"none": "无需审批", "room": "会议室审批人审批", "department": "本部门审批人审批"}
BOOKING_STATES: dict[str, str] = {
    "pending": "待审批", "approved": "已预订", "checked_in": "使用中", "finished": "已结束",
    "cancelled": "已取消", "rejected": "已驳回", "lapsed": "审批超时", "no_show": "未签到已释放"}
# States that hold the room (the exclusion constraint's WHERE): a finished booking keeps the
# time it was used (finishing early shortens it), the others let it go.
OCCUPYING_STATES = ("pending", "approved", "checked_in", "finished")
SERIES_FREQUENCIES: dict[str, str] = {"daily": "每天", "weekly": "每周", "monthly": "每月"}
SERVICE_KINDS: dict[str, str] = {"tea_water": "茶水", "name_cards": "桌签", "av_support": "音视频保障"}
SERVICE_STATES: dict[str, str] = {"open": "待完成", "done": "已完成", "cancelled": "已取消"}
WAITLIST_STATES: dict[str, str] = {"waiting": "排队中", "offered": "已通知可预订", "booked": "已预订",
                                   "expired": "已过期", "cancelled": "已取消"}
LIVE_WAITLIST_STATES = ("waiting", "offered")
QUOTA_SCOPES: dict[str, str] = {"person": "每人", "department": "每部门"}

_OCCUPYING_SQL = "status IN (" + ", ".join(repr(s) for s in OCCUPYING_STATES) + ")"

room_department = Table(
    "room_department", Base.metadata,
    Column("room_id", ForeignKey("room.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("department.id", ondelete="CASCADE"), primary_key=True),
)


class Room(TimestampMixin, Base):
    """A bookable meeting room: a place of kind room (its door code is the place's
    mini-program code) with booking rules. Opening hours are a daily window in Asia/Shanghai;
    closes_at <= opens_at means the window runs past midnight (equal: round the clock)."""

    __tablename__ = "room"
    __table_args__ = (
        UniqueConstraint("place_id"),
        CheckConstraint("capacity > 0", name="capacity"),
        CheckConstraint("equipment <@ ARRAY[" + ", ".join(repr(e) for e in EQUIPMENT) + "]::varchar[]",
                        name="equipment"),
        CheckConstraint(in_check("open_days", OPEN_DAYS), name="open_days"),
        CheckConstraint(in_check("approval", APPROVAL_MODES), name="approval"),
        CheckConstraint("min_minutes > 0 AND max_minutes >= min_minutes AND max_minutes <= 1440", name="duration"),
        CheckConstraint("advance_days BETWEEN 0 AND 366", name="advance_days"),
        CheckConstraint("buffer_minutes BETWEEN 0 AND 240", name="buffer"),
        CheckConstraint("approval_hours BETWEEN 1 AND 720", name="approval_hours"),
        CheckConstraint("checkin_open_minutes BETWEEN 0 AND 240 AND release_after_minutes BETWEEN 1 AND 240",
                        name="checkin"),
        CheckConstraint("btrim(name) <> ''", name="name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(100))
    capacity: Mapped[int] = mapped_column(Integer)
    equipment: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list, server_default="{}")
    description: Mapped[str | None] = mapped_column(String(500))
    opens_at: Mapped[time] = mapped_column(Time, default=time(8, 0), server_default="08:00")
    closes_at: Mapped[time] = mapped_column(Time, default=time(21, 0), server_default="21:00")
    open_days: Mapped[str] = mapped_column(String(16), default="workdays", server_default="workdays")
    min_minutes: Mapped[int] = mapped_column(SmallInteger, default=30, server_default="30")
    max_minutes: Mapped[int] = mapped_column(SmallInteger, default=480, server_default="480")
    advance_days: Mapped[int] = mapped_column(SmallInteger, default=30, server_default="30")
    buffer_minutes: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    approval: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    # A pending booking lapses this long after it was made, or at its start if sooner.
    approval_hours: Mapped[int] = mapped_column(SmallInteger, default=24, server_default="24")
    checkin_required: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    # Check-in opens this long before the start; not checked in this long after it: released.
    checkin_open_minutes: Mapped[int] = mapped_column(SmallInteger, default=15, server_default="15")
    release_after_minutes: Mapped[int] = mapped_column(SmallInteger, default=15, server_default="15")
    property_company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="RESTRICT"))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    place: Mapped[Place] = relationship()
    # Departments that may book the room; none listed: every department.
    departments: Mapped[list[Department]] = relationship(secondary=room_department, order_by=Department.id)

    def __str__(self) -> str:
        return self.name


class RoomBlackout(TimestampMixin, Base):
    """A period a room (or, room_id NULL, every room) cannot be booked: maintenance, holidays."""

    __tablename__ = "room_blackout"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="range"),
        CheckConstraint("btrim(reason) <> ''", name="reason"),
        Index(None, "room_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))

    room: Mapped[Room | None] = relationship()


class RoomQuota(TimestampMixin, Base):
    """Booking limits: per person or per department; department_id NULL is the default for
    everyone, a row naming a department overrides it for that department (its members, or
    the department as a whole). A NULL limit is no limit."""

    __tablename__ = "room_quota"
    __table_args__ = (
        UniqueConstraint("scope", "department_id", postgresql_nulls_not_distinct=True),
        CheckConstraint(in_check("scope", QUOTA_SCOPES), name="scope"),
        CheckConstraint("bookings_per_week IS NULL OR bookings_per_week >= 0", name="bookings_per_week"),
        CheckConstraint("minutes_per_day IS NULL OR minutes_per_day >= 0", name="minutes_per_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    bookings_per_week: Mapped[int | None] = mapped_column(Integer)
    minutes_per_day: Mapped[int | None] = mapped_column(Integer)

    department: Mapped[Department | None] = relationship()


class RoomSeries(TimestampMixin, Base):
    """A recurring booking's rule; its occurrences are room_booking rows with series_id.
    weekdays: 0 = Monday .. 6 = Sunday (weekly only). Ends at `until` (a date) or after
    `count` occurrences, exactly one of the two."""

    __tablename__ = "room_series"
    __table_args__ = (
        CheckConstraint(in_check("frequency", SERIES_FREQUENCIES), name="frequency"),
        CheckConstraint("interval BETWEEN 1 AND 12", name="interval"),
        CheckConstraint("(until IS NULL) <> (count IS NULL)", name="end"),
        CheckConstraint("count IS NULL OR count BETWEEN 1 AND 366", name="count"),
        CheckConstraint("weekdays <@ ARRAY[0, 1, 2, 3, 4, 5, 6]::smallint[]", name="weekdays"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"), index=True)
    booked_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    frequency: Mapped[str] = mapped_column(String(16))
    interval: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    weekdays: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), default=list, server_default="{}")
    until: Mapped[date | None] = mapped_column(Date)
    count: Mapped[int | None] = mapped_column(SmallInteger)
    # The first occurrence's local start (Asia/Shanghai) and the duration of every occurrence.
    first_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    minutes: Mapped[int] = mapped_column(SmallInteger)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RoomBooking(Base):
    __tablename__ = "room_booking"
    __table_args__ = (
        ExcludeConstraint(
            (column("room_id"), "="), (func.tstzrange(column("start_at"), column("blocked_until")), "&&"),
            using="gist", where=text(_OCCUPYING_SQL), name="ex_room_booking_no_overlap"),
        CheckConstraint(in_check("status", BOOKING_STATES), name="status"),
        CheckConstraint("end_at > start_at AND blocked_until >= end_at", name="range"),
        CheckConstraint("attendee_count > 0", name="attendee_count"),
        CheckConstraint("btrim(subject) <> ''", name="subject"),
        Index(None, "user_id", "start_at"),
        Index(None, "booked_by_id", "start_at"),
        Index(None, "status", "start_at"),
        Index(None, "series_id"),
        # "Which occupying bookings of any room meet this range" (the free-room search): the
        # exclusion constraint's index leads with room_id and serves that question slowly.
        Index("ix_room_booking_occupying_range", func.tstzrange(column("start_at"), column("blocked_until")),
              postgresql_using="gist", postgresql_where=text(_OCCUPYING_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="RESTRICT"))
    # The organiser (the leader, when a secretary books for one) and who made the booking.
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    booked_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    # The organiser's department when booked: what others see of a taken slot.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(100))
    attendee_count: Mapped[int] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(String(500))
    start_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # end_at + the room's buffer when booked (or moved): the exclusion constraint's upper bound.
    blocked_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("room_series.id", ondelete="SET NULL"))
    approval_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(String(200))  # rejection, or an admin's cancel/move
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    room: Mapped[Room] = relationship()
    organiser: Mapped[User] = relationship(foreign_keys=[user_id])
    booked_by: Mapped[User] = relationship(foreign_keys=[booked_by_id])
    department: Mapped[Department | None] = relationship()
    series: Mapped[RoomSeries | None] = relationship()
    attendees: Mapped[list[User]] = relationship(secondary="room_booking_attendee", order_by=User.id,
                                                 viewonly=True)
    services: Mapped[list[RoomService]] = relationship(back_populates="booking", order_by="RoomService.id")


class RoomBookingAttendee(Base):
    """Staff listed on a booking: notified, and may see it and check in."""

    __tablename__ = "room_booking_attendee"

    booking_id: Mapped[int] = mapped_column(ForeignKey("room_booking.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True,
                                         index=True)


class RoomService(Base):
    """A meeting service (tea and water, name cards, AV support) the property company does by
    `due_at`; open → done (or cancelled with the booking)."""

    __tablename__ = "room_service"
    __table_args__ = (
        UniqueConstraint("booking_id", "kind"),
        CheckConstraint(in_check("kind", SERVICE_KINDS), name="kind"),
        CheckConstraint(in_check("status", SERVICE_STATES), name="status"),
        Index(None, "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("room_booking.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    booking: Mapped[RoomBooking] = relationship(back_populates="services")


class RoomWaitlist(TimestampMixin, Base):
    """Someone waiting for a taken slot of a room. When an overlapping booking lets the room
    go, the first waiting entry whose range is now free is offered it (notified, `offered`
    until offer_expires_at); booking it turns the entry `booked`."""

    __tablename__ = "room_waitlist"
    __table_args__ = (
        CheckConstraint(in_check("status", WAITLIST_STATES), name="status"),
        CheckConstraint("end_at > start_at", name="range"),
        CheckConstraint("attendee_count > 0", name="attendee_count"),
        Index("uq_room_waitlist_live", "user_id", "room_id", "start_at", unique=True,
              postgresql_where=text("status IN ('waiting', 'offered')")),
        Index(None, "room_id", "status", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    subject: Mapped[str] = mapped_column(String(100))
    attendee_count: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16), default="waiting", server_default="waiting")
    offered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    offer_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("room_booking.id", ondelete="SET NULL"))

    room: Mapped[Room] = relationship()


class RoomDelegation(TimestampMixin, Base):
    """A leader lets a secretary book rooms on the leader's behalf (until revoked)."""

    __tablename__ = "room_delegation"
    __table_args__ = (
        Index("uq_room_delegation_live", "leader_id", "secretary_id", unique=True,
              postgresql_where=text("revoked_at IS NULL")),
        CheckConstraint("leader_id <> secretary_id", name="not_self"),
        Index(None, "secretary_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    secretary_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    leader: Mapped[User] = relationship(foreign_keys=[leader_id])
    secretary: Mapped[User] = relationship(foreign_keys=[secretary_id])


class RoomSuspension(TimestampMixin, Base):
    """Booking suspended after too many no-shows (ROOM_NO_SHOW_LIMIT within
    ROOM_NO_SHOW_WINDOW_DAYS): from starts_at until ends_at, unless lifted."""

    __tablename__ = "room_suspension"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="range"),
        Index(None, "user_id", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(200))
    no_shows: Mapped[int] = mapped_column(SmallInteger)
    # The no-show that triggered it: one suspension per triggering booking, however often the
    # sweep runs.
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("room_booking.id", ondelete="SET NULL"),
                                                   unique=True)
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    lift_reason: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class RoomFeed(TimestampMixin, Base):
    """A personal iCalendar subscription: the URL carries a secret whose SHA-256 is kept here;
    revoking (or rotating) sets revoked_at. Subjects only when the user opted in."""

    __tablename__ = "room_feed"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index("uq_room_feed_live", "user_id", unique=True, postgresql_where=text("revoked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    include_subjects: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

