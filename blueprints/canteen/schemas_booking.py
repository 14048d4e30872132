"""Schemas of meal bookings, specials' availability and no-show penalties."""

from __future__ import annotations

import marshmallow as ma
from flask import g
from marshmallow import validate

from app.auth import current_principal_or_none
from app.extensions import db
from app.lifecycle import TimelineField
from app.schemas import BusinessDate, Id, LocalDateTime, PageArgs, computed, page_schema
from blueprints.canteen import booking as service
from blueprints.canteen import rules
from blueprints.canteen.rules import MEAL, cutoff_at, serving_window
from models.canteen import BOOKING_STATES, MEALS, PENALTY_KINDS, SPECIAL_KINDS, MealSlot

# --- requests -------------------------------------------------------------------------------

class DishChoiceSchema(ma.Schema):
    dish_id = Id(required=True)
    portion = ma.fields.String(load_default="full", validate=validate.OneOf(["full", "half"]),
                               metadata={"description": "full（整份，默认）或 half（半份），须为该菜品提供的份量"})


class BookingCreateSchema(ma.Schema):
    slot_id = Id(required=True, metadata={"description": "餐次（食堂的早餐/午餐/晚餐）"})
    day = BusinessDate(required=True, metadata={"description": "用餐日期 YYYY-MM-DD", "example": "2026-06-03"})
    special_id = Id(load_default=None, allow_none=True,
                    metadata={"description": "同时预订该餐次当日的特色菜（限量，先到先得）"})
    dishes = ma.fields.List(ma.fields.Nested(DishChoiceSchema), load_default=list, validate=validate.Length(max=20),
                            metadata={"description": "可选：预选当日已发布菜单中的菜品"})


class WeekBookingSchema(ma.Schema):
    slot_id = Id(required=True)
    days = ma.fields.List(BusinessDate(), required=True,
                          validate=validate.Length(min=1, max=service.WEEK_MAX_DAYS),
                          metadata={"description": f"用餐日期（1-{service.WEEK_MAX_DAYS} 天）"})


class CancelSchema(ma.Schema):
    note = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                            metadata={"description": "取消原因（可选）"})


class MineArgs(PageArgs):
    from_ = BusinessDate(data_key="from", load_default=None, metadata={"description": "起始用餐日期（含）"})
    to = BusinessDate(load_default=None, metadata={"description": "截止用餐日期（含）"})
    status = ma.fields.String(load_default=None, validate=validate.OneOf(list(BOOKING_STATES)))


class SpecialsArgs(ma.Schema):
    day = BusinessDate(required=True)
    canteen_id = Id(load_default=None)


class LiftSchema(ma.Schema):
    note = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


# --- responses ------------------------------------------------------------------------------

class CanteenRefSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class SpecialRefSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"description": ", ".join(SPECIAL_KINDS)})
    kind_label = computed(ma.fields.String, lambda s: SPECIAL_KINDS.get(s.kind, s.kind))
    price_cents = ma.fields.Integer(allow_none=True)


class BookedDishSchema(ma.Schema):
    dish_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    portion = ma.fields.String(required=True)


def _actor():
    return current_principal_or_none()


def _available(booking) -> list[str]:
    actor = _actor()
    return MEAL.available(actor, booking) if actor else []


def _start(b):
    return serving_window(b.slot, b.day)[0]


def _end(b):
    return serving_window(b.slot, b.day)[1]


def _now():
    # One "now" per request, so a page of bookings is judged at one instant.
    if "canteen_now" not in g:
        g.canteen_now = rules.clock()
    return g.canteen_now


class BookingSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    user_id = ma.fields.Integer(required=True)
    canteen = ma.fields.Nested(CanteenRefSchema, required=True)
    slot_id = ma.fields.Integer(required=True)
    meal = ma.fields.String(required=True, metadata={"description": ", ".join(MEALS)})
    meal_label = computed(ma.fields.String, lambda b: MEALS.get(b.meal, b.meal))
    day = BusinessDate(required=True)
    status = ma.fields.String(required=True, metadata={"description": ", ".join(BOOKING_STATES)})
    status_label = computed(ma.fields.String, lambda b: MEAL.label(b.status))
    special = computed(ma.fields.Nested, service.special_of, nested=SpecialRefSchema, allow_none=True)
    dishes = computed(ma.fields.List, service.dishes_of, cls_or_instance=ma.fields.Nested(BookedDishSchema))
    serve_start = computed(LocalDateTime, _start)
    serve_end = computed(LocalDateTime, _end)
    cutoff_at = computed(LocalDateTime, lambda b: cutoff_at(b.slot, b.day),
                         metadata={"description": "预订与取消的截止时间"})
    cancellable = computed(ma.fields.Boolean, lambda b: service.cancellable(b, _now()),
                           metadata={"description": "现在能否取消"})
    available = computed(ma.fields.List, _available, cls_or_instance=ma.fields.String(),
                         metadata={"description": "当前用户现在可做的操作（cancel, serve）"})
    created_at = LocalDateTime(required=True)
    served_at = LocalDateTime(allow_none=True)
    cancelled_at = LocalDateTime(allow_none=True)


class _BookingTimelineField(TimelineField):
    """The timeline; a booking created in this request carries it already (`new_timeline`,
    its creation row), so the 201 body costs no query."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        kept = getattr(obj, "new_timeline", None)
        return kept if kept is not None else super().get_value(obj, attr, accessor, default)


class BookingDetailSchema(BookingSchema):
    timeline = _BookingTimelineField(MEAL)


BookingPageSchema = page_schema(BookingSchema, "MealBookingPage")


class WeekDayResultSchema(ma.Schema):
    day = BusinessDate(required=True)
    booked = ma.fields.Boolean(required=True)
    booking = ma.fields.Nested(BookingSchema, allow_none=True)
    code = ma.fields.String(allow_none=True, metadata={"description": "未预订成功时的错误码"})
    message = ma.fields.String(allow_none=True)
    details = ma.fields.Dict(allow_none=True)


class WeekResultSchema(ma.Schema):
    booked = ma.fields.Integer(required=True, metadata={"description": "预订成功的天数"})
    results = ma.fields.List(ma.fields.Nested(WeekDayResultSchema), required=True)


def _slot(special):
    return db.session.get(MealSlot, special.slot_id)


class SpecialAvailabilitySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    slot_id = ma.fields.Integer(required=True)
    canteen_id = computed(ma.fields.Integer, lambda s: _slot(s).canteen_id)
    meal = computed(ma.fields.String, lambda s: _slot(s).meal)
    day = BusinessDate(required=True)
    kind = ma.fields.String(required=True)
    kind_label = computed(ma.fields.String, lambda s: SPECIAL_KINDS.get(s.kind, s.kind))
    name = ma.fields.String(required=True)
    price_cents = ma.fields.Integer(allow_none=True)
    portions_total = ma.fields.Integer(required=True)
    portions_left = ma.fields.Integer(required=True)
    sold_out = computed(ma.fields.Boolean, lambda s: s.portions_left <= 0)
    opens_at = LocalDateTime(required=True)
    open = computed(ma.fields.Boolean, lambda s: _now() >= s.opens_at, metadata={"description": "是否已开始预订"})


class PenaltySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, metadata={"description": ", ".join(PENALTY_KINDS)})
    kind_label = computed(ma.fields.String, lambda p: PENALTY_KINDS.get(p.kind, p.kind))
    reason = ma.fields.String(required=True)
    no_shows = ma.fields.Integer(required=True)
    trigger_booking_id = ma.fields.Integer(required=True)
    starts_on = BusinessDate(required=True)
    ends_on = BusinessDate(allow_none=True)
    active = computed(ma.fields.Boolean, lambda p: service.penalty_active(p, _now()),
                      metadata={"description": "暂停报餐是否仍在生效"})
    lifted_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime(required=True)


PenaltyPageSchema = page_schema(PenaltySchema, "BookingPenaltyPage")
