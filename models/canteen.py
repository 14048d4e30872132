"""Canteen booking (报餐) and anti-food-waste tracking (光盘行动).

Master data: canteens (run by a canteen-operator company), their meal slots with booking
rules, dishes, menus per date and slot, limited specials. Orders: meal bookings (a
Lifecycle, see blueprints/canteen/lifecycle.py). Anti-waste: clean-plate check-ins, actual
diner counts, waste weighings (append-only, corrections are new rows), no-show penalties.

What the database guarantees by itself:
- one live booking per person per meal (breakfast/lunch/dinner) per day, whichever canteen
  (`uq_meal_booking_live`, a partial unique index over status booked/served/no_show);
- a special is never oversold (`special.portions_left >= 0`, decremented in the statement
  that books it) and booked once per person (`uq_meal_booking_special_live`);
- one check-in per booking, and a photo (content hash) used for one check-in only;
- one menu per slot and date, one diner count per slot and date.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from models.identity import TimestampMixin, in_check

MEALS: dict[str, str] = {"breakfast": "早餐", "lunch": "午餐", "dinner": "晚餐"}
# How a slot's booking cut-off is expressed: minutes before serving starts, or a time on the
# previous day (breakfast: 20:00 the evening before).
CUTOFF_KINDS: dict[str, str] = {"before_start": "开餐前若干分钟", "previous_day": "前一天固定时间"}
SERVING_DAYS: dict[str, str] = {"workdays": "工作日（按工作日历）", "every_day": "每天"}
MENU_STATUSES: dict[str, str] = {"draft": "草稿", "published": "已发布"}
SPECIAL_KINDS: dict[str, str] = {"low_price": "每月低价菜", "birthday": "生日餐", "holiday": "节日餐",
                                 "other": "特色菜"}
BOOKING_STATES: dict[str, str] = {"booked": "已预订", "served": "已取餐", "cancelled": "已取消",
                                  "no_show": "未取餐"}
LIVE_BOOKING_STATES = ("booked", "served", "no_show")
CHECKIN_STATES: dict[str, str] = {"accepted": "已通过", "pending_review": "待抽检", "approved": "抽检通过",
                                  "rejected": "抽检未通过"}
WASTE_STAGES: dict[str, str] = {"preparation": "备餐损耗", "overproduction": "剩余饭菜", "plate": "餐盘剩余"}
PENALTY_KINDS: dict[str, str] = {"warning": "警告", "suspension": "暂停报餐"}


class Canteen(TimestampMixin, Base):
    __tablename__ = "canteen"
    __table_args__ = (UniqueConstraint("name"), CheckConstraint("btrim(name) <> ''", name="name"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The operator: a company of kind canteen_operator; its canteen roles act on this canteen.
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id", ondelete="RESTRICT"), index=True)
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id", ondelete="SET NULL"))
    # The tray-return station (回盘处) where clean plates are checked in: an area place whose
    # mini-program code the diner scans.
    tray_station_id: Mapped[int | None] = mapped_column(ForeignKey("place.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))

    slots: Mapped[list[MealSlot]] = relationship(back_populates="canteen", order_by="MealSlot.serve_start")

    def __str__(self) -> str:
        return self.name


class MealSlot(TimestampMixin, Base):
    """A meal a canteen serves, with its serving window (Asia/Shanghai) and booking rules."""

    __tablename__ = "meal_slot"
    __table_args__ = (
        UniqueConstraint("canteen_id", "meal"),
        CheckConstraint(in_check("meal", MEALS), name="meal"),
        CheckConstraint(in_check("cutoff_kind", CUTOFF_KINDS), name="cutoff_kind"),
        CheckConstraint(in_check("serving_days", SERVING_DAYS), name="serving_days"),
        CheckConstraint("serve_end > serve_start", name="window"),
        CheckConstraint("(cutoff_kind = 'before_start') = (cutoff_minutes IS NOT NULL)", name="cutoff_minutes"),
        CheckConstraint("(cutoff_kind = 'previous_day') = (cutoff_time IS NOT NULL)", name="cutoff_time"),
        CheckConstraint("cutoff_minutes IS NULL OR cutoff_minutes >= 0", name="cutoff_minutes_range"),
        CheckConstraint("open_days_ahead BETWEEN 1 AND 60", name="open_days_ahead"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity"),
        CheckConstraint("checkin_grace_minutes BETWEEN 0 AND 600", name="checkin_grace"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteen.id", ondelete="CASCADE"))
    meal: Mapped[str] = mapped_column(String(16))
    serve_start: Mapped[time] = mapped_column(Time)
    serve_end: Mapped[time] = mapped_column(Time)
    # Booking opens this many days before the meal's date (at 00:00 Asia/Shanghai).
    open_days_ahead: Mapped[int] = mapped_column(SmallInteger, default=7, server_default="7")
    cutoff_kind: Mapped[str] = mapped_column(String(16), default="before_start", server_default="before_start")
    cutoff_minutes: Mapped[int | None] = mapped_column(Integer)
    cutoff_time: Mapped[time | None] = mapped_column(Time)
    # Whether a booking may be cancelled up to the cut-off (else not at all once made).
    cancel_until_cutoff: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    serving_days: Mapped[str] = mapped_column(String(16), default="workdays", server_default="workdays")
    capacity: Mapped[int | None] = mapped_column(Integer)  # bookings per day; NULL: unlimited
    # Clean-plate check-in is open from serving start until serve_end + this grace.
    checkin_grace_minutes: Mapped[int] = mapped_column(SmallInteger, default=60, server_default="60")
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))

    canteen: Mapped[Canteen] = relationship(back_populates="slots")

    def __str__(self) -> str:
        return f"{self.canteen.name if self.canteen else ''}{MEALS.get(self.meal, self.meal)}"


class Dish(TimestampMixin, Base):
    __tablename__ = "dish"
    __table_args__ = (
        UniqueConstraint("canteen_id", "name"),
        CheckConstraint("btrim(name) <> ''", name="name"),
        CheckConstraint("price_cents IS NULL OR price_cents >= 0", name="price"),
        CheckConstraint("cardinality(portions) >= 1", name="portions"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteen.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    category: Mapped[str] = mapped_column(String(30), default="", server_default="")  # 主食, 荤菜, 素菜, 汤...
    allergens: Mapped[list[str]] = mapped_column(ARRAY(String(30)), default=list, server_default="{}")
    price_cents: Mapped[int | None] = mapped_column(Integer)  # informational; NULL: free
    portions: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=lambda: ["full"],
                                                server_default="{full}")  # full, half
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(String(200), default="", server_default="")
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))

    def __str__(self) -> str:
        return self.name


class Menu(TimestampMixin, Base):
    """What a slot serves on a date; staff see it once published."""

    __tablename__ = "menu"
    __table_args__ = (UniqueConstraint("slot_id", "day"), CheckConstraint(in_check("status", MENU_STATUSES),
                                                                          name="status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("meal_slot.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")

    items: Mapped[list[MenuItem]] = relationship(cascade="all, delete-orphan", order_by="MenuItem.sort_order")


class MenuItem(Base):
    __tablename__ = "menu_item"
    __table_args__ = (UniqueConstraint("menu_id", "dish_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    menu_id: Mapped[int] = mapped_column(ForeignKey("menu.id", ondelete="CASCADE"))
    dish_id: Mapped[int] = mapped_column(ForeignKey("dish.id", ondelete="RESTRICT"), index=True)
    sort_order: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")

    dish: Mapped[Dish] = relationship()


class Special(TimestampMixin, Base):
    """A limited special (每月低价菜, 生日餐, 节日餐) on a slot and date: `portions_total`
    portions, first come first served from `opens_at`; `portions_left` is decremented by the
    statement that books one and can never go below zero."""

    __tablename__ = "special"
    __table_args__ = (
        CheckConstraint(in_check("kind", SPECIAL_KINDS), name="kind"),
        CheckConstraint("portions_total > 0", name="portions_total"),
        CheckConstraint("portions_left >= 0 AND portions_left <= portions_total", name="portions_left"),
        CheckConstraint("price_cents IS NULL OR price_cents >= 0", name="price"),
        Index(None, "slot_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("meal_slot.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(60))
    dish_id: Mapped[int | None] = mapped_column(ForeignKey("dish.id", ondelete="SET NULL"))
    price_cents: Mapped[int | None] = mapped_column(Integer)
    portions_total: Mapped[int] = mapped_column(Integer)
    portions_left: Mapped[int] = mapped_column(Integer)
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))


class MealBooking(Base):
    """One person's booking of one meal (slot) on one day: an order with a lifecycle
    (booked → served by a counter scan; booked → cancelled before the cut-off; booked →
    no_show by the sweep after the serving window)."""

    __tablename__ = "meal_booking"
    __table_args__ = (
        CheckConstraint(in_check("status", BOOKING_STATES), name="status"),
        CheckConstraint(in_check("meal", MEALS), name="meal"),
        Index("uq_meal_booking_live", "user_id", "day", "meal", unique=True,
              postgresql_where=text("status IN ('booked', 'served', 'no_show')")),
        Index("uq_meal_booking_special_live", "user_id", "special_id", unique=True,
              postgresql_where=text("special_id IS NOT NULL AND status IN ('booked', 'served', 'no_show')")),
        Index(None, "slot_id", "day", "status"),
        Index(None, "canteen_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    # The diner's department when booked (the 红黑榜 ranks departments).
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteen.id", ondelete="RESTRICT"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("meal_slot.id", ondelete="RESTRICT"))
    meal: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(32), default="booked", server_default="booked")
    special_id: Mapped[int | None] = mapped_column(ForeignKey("special.id", ondelete="RESTRICT"))
    # Optional dish pre-selection: [{"dish_id": 3, "portion": "half"}, ...]
    dishes: Mapped[list[dict]] = mapped_column(JSONB, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    served_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    slot: Mapped[MealSlot] = relationship()
    canteen: Mapped[Canteen] = relationship()


class CleanPlateCheckin(Base):
    """A clean-plate check-in (光盘打卡) of a served booking: the tray station's code scanned
    and a photo of the empty plate. Points are awarded at once; a random sample waits for
    the operator's review, and a rejected sample reverses the points with a reason."""

    __tablename__ = "clean_plate_checkin"
    __table_args__ = (
        UniqueConstraint("booking_id"),
        UniqueConstraint("photo_sha256"),  # a reused photo is refused
        CheckConstraint(in_check("status", CHECKIN_STATES), name="status"),
        Index(None, "canteen_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("meal_booking.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"), index=True)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteen.id", ondelete="RESTRICT"))
    day: Mapped[date] = mapped_column(Date)
    photo_id: Mapped[int] = mapped_column(ForeignKey("attachment.id", ondelete="RESTRICT"))
    photo_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    points_transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("points_transaction.id", ondelete="RESTRICT"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reject_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DinerCount(Base):
    """Actual diners of a slot on a day (walk-ins included), entered by the operator;
    per-meal figures divide by it. Re-entering replaces the figure (audited)."""

    __tablename__ = "diner_count"
    __table_args__ = (UniqueConstraint("slot_id", "day"), CheckConstraint("diners >= 0", name="diners"))

    id: Mapped[int] = mapped_column(primary_key=True)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteen.id", ondelete="RESTRICT"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("meal_slot.id", ondelete="RESTRICT"))
    day: Mapped[date] = mapped_column(Date)
    diners: Mapped[int] = mapped_column(Integer)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())


class WasteEntry(Base):
    """A waste weighing by stage. Append-only: a correction is a new row naming the row it
    corrects (`corrects_id`); the figure that counts is the newest row of each chain."""

    __tablename__ = "waste_entry"
    __table_args__ = (
        CheckConstraint(in_check("stage", WASTE_STAGES), name="stage"),
        CheckConstraint("kg >= 0 AND kg < 10000", name="kg"),
        UniqueConstraint("corrects_id"),  # a row is corrected once; correct the correction next
        Index(None, "canteen_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteen.id", ondelete="RESTRICT"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("meal_slot.id", ondelete="RESTRICT"))
    day: Mapped[date] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(16))
    kg: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("waste_entry.id", ondelete="RESTRICT"))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BookingPenalty(Base):
    """A consequence of repeated no-shows: a warning, or booking suspended until `ends_on`.
    Shown to the user with its reason; an administrator may lift it (lifted_at)."""

    __tablename__ = "booking_penalty"
    __table_args__ = (
        CheckConstraint(in_check("kind", PENALTY_KINDS), name="kind"),
        CheckConstraint("kind <> 'suspension' OR ends_on IS NOT NULL", name="suspension_end"),
        # one penalty per user per triggering no-show: the sweep may run twice
        UniqueConstraint("user_id", "trigger_booking_id"),
        Index(None, "user_id", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    no_shows: Mapped[int] = mapped_column(SmallInteger)
    trigger_booking_id: Mapped[int] = mapped_column(ForeignKey("meal_booking.id", ondelete="CASCADE"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    notified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class DishRating(Base):
    """A diner's stars (1-5) for one dish of a served meal booking: one row per booking and
    dish (`uq_dish_rating_booking_id_dish_id`), changed in place by re-rating (an upsert)
    within the platform rating window. The meal itself is rated through platform ratings."""

    __tablename__ = "dish_rating"
    __table_args__ = (
        UniqueConstraint("booking_id", "dish_id"),
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),
        Index(None, "dish_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("meal_booking.id", ondelete="CASCADE"))
    dish_id: Mapped[int] = mapped_column(ForeignKey("dish.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    stars: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    booking: Mapped[MealBooking] = relationship()
    dish: Mapped[Dish] = relationship()
