"""Parking (停车): lots with capacity per kind and optional numbered spaces, staff vehicles,
reservations (staff, and visitor parking tied to a visit), fair draws, gate keys, gate
events, live occupancy and the whitelist change log gates sync from.

What the database guarantees by itself:
- a plate belongs to one active vehicle (`uq_vehicle_active_plate`);
- one live reservation per person, lot, day and period, and one per visit;
- one draw per lot, day, period and kind;
- a gate event is stored once however often a gate resends it (gate key + the gate's event
  id), and a signed request's nonce is accepted once per gate key;
- capacities and occupancy are never negative.
How many reservations a lot holds is decided under the lot's row lock (the services count
the live reservations of a kind and period before inserting), not by a constraint.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from models.identity import TimestampMixin, User, in_check
from models.places import Place

LOT_MODES: dict[str, str] = {"open": "白名单通行", "reservation": "预约停车"}
SPACE_KINDS: dict[str, str] = {"staff": "员工车位", "visitor": "访客车位", "ev": "新能源充电车位",
                               "accessible": "无障碍车位"}
PERIODS: dict[str, str] = {"day": "全天", "am": "上午", "pm": "下午"}
RESERVATION_STATES: dict[str, str] = {
    "applied": "待抽签", "reserved": "已预约", "waitlisted": "候补中", "lost": "未中签", "entered": "已入场",
    "completed": "已离场", "cancelled": "已取消", "no_show": "未按时入场", "revoked": "已撤销"}
# States that hold a space of the lot for their day and period.
HOLDING_STATES = ("reserved", "entered")
LIVE_RESERVATION_STATES = ("applied", "reserved", "waitlisted", "entered")
DIRECTIONS: dict[str, str] = {"in": "入场", "out": "出场"}
GATE_REASONS: dict[str, str] = {
    "staff_vehicle": "员工车辆", "visitor_reservation": "访客预约车辆", "reservation": "预约车辆",
    "unknown_plate": "未登记车辆", "no_reservation": "无当日预约", "lot_full": "车位已满", "exit": "出场"}
WHITELIST_ACTIONS: dict[str, str] = {"allow": "加入", "revoke": "移除"}

_LIVE_SQL = "status IN (" + ", ".join(repr(s) for s in LIVE_RESERVATION_STATES) + ")"


class ParkingLot(TimestampMixin, Base):
    """A car park: a place (of kind area) with capacity per kind. An `open` lot lets whitelisted
    plates in (staff vehicles, visitors with a reservation); a `reservation` lot needs a
    reservation for the day (or half day), drawn at `draw_at` the day before when demand
    exceeds supply."""

    __tablename__ = "parking_lot"
    __table_args__ = (
        UniqueConstraint("place_id"),
        CheckConstraint(in_check("mode", LOT_MODES), name="mode"),
        CheckConstraint("staff_capacity >= 0 AND visitor_capacity >= 0 AND ev_capacity >= 0 "
                        "AND accessible_capacity >= 0", name="capacity"),
        CheckConstraint("grace_minutes BETWEEN 0 AND 240", name="grace_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(50))
    mode: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    staff_capacity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    visitor_capacity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ev_capacity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    accessible_capacity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A reservation not entered by its start plus this many minutes is a no-show.
    grace_minutes: Mapped[int] = mapped_column(SmallInteger, default=30, server_default="30")
    # The draw for a day runs at this local time on the day before.
    draw_at: Mapped[time] = mapped_column(Time, default=time(18, 0), server_default=text("'18:00'"))
    am_ends_at: Mapped[time] = mapped_column(Time, default=time(12, 30), server_default=text("'12:30'"))
    opens_at: Mapped[time] = mapped_column(Time, default=time(7, 0), server_default=text("'07:00'"))
    closes_at: Mapped[time] = mapped_column(Time, default=time(20, 0), server_default=text("'20:00'"))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))

    place: Mapped[Place] = relationship()

    def capacity_of(self, kind: str) -> int:
        return getattr(self, f"{kind}_capacity")

    def __str__(self) -> str:
        return self.name


class ParkingSpace(Base):
    """A numbered space of a lot (optional: lots without them count capacity only)."""

    __tablename__ = "parking_space"
    __table_args__ = (
        UniqueConstraint("lot_id", "number"),
        CheckConstraint(in_check("kind", SPACE_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("parking_lot.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))

    lot: Mapped[ParkingLot] = relationship()

    def __str__(self) -> str:
        return self.number


class Vehicle(TimestampMixin, Base):
    """A staff member's registered car (at most PARKING_MAX_VEHICLES active per person)."""

    __tablename__ = "vehicle"
    __table_args__ = (
        Index("uq_vehicle_active_plate", "plate", unique=True, postgresql_where=text("is_active")),
        Index(None, "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    plate: Mapped[str] = mapped_column(String(12))
    plate_kind: Mapped[str] = mapped_column(String(16))
    is_ev: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    needs_accessible: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()

    def __str__(self) -> str:
        return self.plate


class ParkingReservation(TimestampMixin, Base):
    """A space of a kind in a lot for a day or half day: a staff member's (user_id) or a
    visit's (visit_id: held for the visit's window, revoked with the visit). The order of the
    PARKING lifecycle (blueprints/parking/rules.py)."""

    __tablename__ = "parking_reservation"
    __table_args__ = (
        CheckConstraint(in_check("status", RESERVATION_STATES), name="status"),
        CheckConstraint(in_check("kind", SPACE_KINDS), name="kind"),
        CheckConstraint(in_check("period", PERIODS), name="period"),
        CheckConstraint("ends_at > starts_at", name="window"),
        CheckConstraint("user_id IS NOT NULL OR visit_id IS NOT NULL", name="holder"),
        Index("uq_parking_reservation_live_person", "user_id", "lot_id", "day", "period", unique=True,
              postgresql_where=text(f"visit_id IS NULL AND {_LIVE_SQL}")),
        Index("uq_parking_reservation_live_visit", "visit_id", unique=True, postgresql_where=text(_LIVE_SQL)),
        Index(None, "lot_id", "day", "kind", "status"),
        Index(None, "plate", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("parking_lot.id", ondelete="RESTRICT"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle.id", ondelete="SET NULL"))
    plate: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    period: Mapped[str] = mapped_column(String(8))
    # The local window the space is held for (the period's hours, or the visit's window).
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    space_id: Mapped[int | None] = mapped_column(ForeignKey("parking_space.id", ondelete="SET NULL"))
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("parking_draw.id", ondelete="SET NULL"))
    waitlist_rank: Mapped[int | None] = mapped_column(Integer)
    entered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    exited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lot: Mapped[ParkingLot] = relationship()
    user: Mapped[User | None] = relationship()
    space: Mapped[ParkingSpace | None] = relationship()


class ParkingDraw(Base):
    """A draw for one lot, day, period and kind, kept for audit and shown to every applicant:
    the algorithm (name and version), the random seed, each applicant's weight and the result
    (winners in order, then the waitlist in order). Rerunning the algorithm from the stored
    seed and weights gives the same result."""

    __tablename__ = "parking_draw"
    __table_args__ = (
        UniqueConstraint("lot_id", "day", "period", "kind"),
        CheckConstraint(in_check("period", PERIODS), name="period"),
        CheckConstraint(in_check("kind", SPACE_KINDS), name="kind"),
        CheckConstraint("supply >= 0", name="supply"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("parking_lot.id", ondelete="RESTRICT"))
    day: Mapped[date] = mapped_column(Date)
    period: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    algorithm: Mapped[str] = mapped_column(String(40))
    seed: Mapped[str] = mapped_column(String(64))
    supply: Mapped[int] = mapped_column(Integer)
    # [{"reservation_id", "user_id", "weight", "reasons"}] in the order the algorithm read them.
    applicants: Mapped[list] = mapped_column(JSONB)
    # {"winners": [reservation ids in order], "waitlist": [reservation ids in order]}
    result: Mapped[dict] = mapped_column(JSONB)
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class GateKey(TimestampMixin, Base):
    """A barrier or plate-recognition gate of a lot: it signs its requests with its own secret
    (HMAC-SHA256; the secret encrypted at rest, shown once when created)."""

    __tablename__ = "gate_key"
    __table_args__ = (
        UniqueConstraint("key_id"),
        CheckConstraint("direction IS NULL OR " + in_check("direction", DIRECTIONS), name="direction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("parking_lot.id", ondelete="RESTRICT"), index=True)
    key_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(50))
    secret_enc: Mapped[str] = mapped_column(String(200))
    # The direction the gate controls (NULL: both, the event says which).
    direction: Mapped[str | None] = mapped_column(String(8))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lot: Mapped[ParkingLot] = relationship()

    def __str__(self) -> str:
        return self.name


class GateNonce(Base):
    """A signed request's nonce, accepted once per gate key (purged after the timestamp window)."""

    __tablename__ = "gate_nonce"
    __table_args__ = (UniqueConstraint("gate_key_id", "nonce"), Index(None, "seen_at"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    gate_key_id: Mapped[int] = mapped_column(ForeignKey("gate_key.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class GateEvent(Base):
    """An entry or exit a gate reported, with the decision it was given. Gates that were
    offline send buffered events late and in any order: `occurred_at` is the gate's time,
    `event_id` the gate's own id (a resend is the same row)."""

    __tablename__ = "gate_event"
    __table_args__ = (
        UniqueConstraint("gate_key_id", "event_id"),
        CheckConstraint(in_check("direction", DIRECTIONS), name="direction"),
        CheckConstraint(in_check("reason", GATE_REASONS), name="reason"),
        Index(None, "lot_id", "occurred_at"),
        Index(None, "plate", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    gate_key_id: Mapped[int] = mapped_column(ForeignKey("gate_key.id", ondelete="RESTRICT"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("parking_lot.id", ondelete="RESTRICT"))
    event_id: Mapped[str] = mapped_column(String(64))
    plate: Mapped[str] = mapped_column(String(12))
    direction: Mapped[str] = mapped_column(String(8))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    # Whether the gate decided offline (from its synced whitelist) rather than by asking.
    offline: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    opened: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(24))
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("parking_reservation.id", ondelete="SET NULL"))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle.id", ondelete="SET NULL"))


class LotOccupancy(Base):
    """How many vehicles are in a lot now, moved by gate events, corrected by guards with a
    reason (ParkingCorrection) and reconciled nightly from the events."""

    __tablename__ = "lot_occupancy"
    __table_args__ = (CheckConstraint("occupied >= 0", name="occupied"),)

    lot_id: Mapped[int] = mapped_column(ForeignKey("parking_lot.id", ondelete="CASCADE"), primary_key=True)
    occupied: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class ParkingCorrection(Base):
    """A guard's (or the nightly reconciliation's) correction of a lot's occupancy."""

    __tablename__ = "parking_correction"
    __table_args__ = (CheckConstraint("occupied_after >= 0", name="occupied_after"),
                      CheckConstraint("btrim(reason) <> ''", name="reason"))

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("parking_lot.id", ondelete="CASCADE"), index=True)
    occupied_before: Mapped[int] = mapped_column(Integer)
    occupied_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class WhitelistChange(Base):
    """The change log gates sync from: its id is the version (`GET .../whitelist?since=v`
    returns the rows after v). A plate is allowed into a lot (NULL: every lot) from
    `valid_from` to `valid_until` (NULL: open-ended) until a later `revoke` row."""

    __tablename__ = "whitelist_change"
    __table_args__ = (
        CheckConstraint(in_check("action", WHITELIST_ACTIONS), name="action"),
        Index(None, "lot_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("parking_lot.id", ondelete="CASCADE"))
    plate: Mapped[str] = mapped_column(String(12))
    action: Mapped[str] = mapped_column(String(8))
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What put it there: "vehicle:12", "reservation:34".
    source: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
