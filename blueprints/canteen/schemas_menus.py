"""Schemas of the canteen menu routes: canteens, slots, dishes, menus, specials, production."""

from __future__ import annotations

from datetime import datetime

import marshmallow as ma
from marshmallow import validate

from app.extensions import db
from app.schemas import BusinessDate, LocalDateTime, Trimmed
from blueprints.attachments.schemas import AttachmentRefSchema
from blueprints.canteen.dish_ratings import SUMMARY_DAYS
from blueprints.canteen.menus import MAX_SCHEDULE_DAYS, PORTIONS, price_text
from blueprints.canteen.schemas_dish_ratings import DishRatingFiguresSchema
from models.attachments import Attachment
from models.canteen import CUTOFF_KINDS, MEALS, MENU_STATUSES, SERVING_DAYS, SPECIAL_KINDS

_MEALS_DOC = "；".join(f"{k}：{v}" for k, v in MEALS.items())
_CUTOFF_DOC = "；".join(f"{k}：{v}" for k, v in CUTOFF_KINDS.items())
_SERVING_DOC = "；".join(f"{k}：{v}" for k, v in SERVING_DAYS.items())
_KINDS_DOC = "；".join(f"{k}：{v}" for k, v in SPECIAL_KINDS.items())
_PORTIONS_DOC = "；".join(f"{k}：{v}" for k, v in PORTIONS.items())


class HourMinute(ma.fields.String):
    """A wall-clock time in Asia/Shanghai as "HH:MM" (input also "HH:MM:SS")."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.strftime("%H:%M")

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ma.ValidationError("时间格式应为 HH:MM")
        for fmt in ("%H:%M", "%H:%M:%S"):
            try:
                return datetime.strptime(value, fmt).time()
            except ValueError:
                continue
        raise ma.ValidationError("时间格式应为 HH:MM")


# --- canteens and slots ------------------------------------------------------------------

class SlotDaySchema(ma.Schema):
    day = BusinessDate(required=True)
    weekday = ma.fields.String(required=True, metadata={"example": "周一"})
    serves = ma.fields.Boolean(required=True, metadata={"description": "当天是否供餐（按工作日历或每天）"})
    booking_opens_at = LocalDateTime(allow_none=True, metadata={"description": "开放预订时间"})
    cutoff_at = LocalDateTime(allow_none=True, metadata={"description": "报餐（及取消）截止时间"})
    serve_start = LocalDateTime(allow_none=True)
    serve_end = LocalDateTime(allow_none=True)


class SlotSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    meal = ma.fields.String(required=True, metadata={"description": _MEALS_DOC})
    meal_label = ma.fields.String(required=True, metadata={"example": "午餐"})
    serve_start = HourMinute(required=True, metadata={"description": "开餐时间（北京时间）", "example": "11:30"})
    serve_end = HourMinute(required=True, metadata={"example": "13:00"})
    open_days_ahead = ma.fields.Integer(required=True, metadata={"description": "提前几天开放预订（0 点开放）"})
    cutoff_kind = ma.fields.String(required=True, metadata={"description": _CUTOFF_DOC})
    cutoff_minutes = ma.fields.Integer(allow_none=True)
    cutoff_time = HourMinute(allow_none=True)
    cutoff_text = ma.fields.String(required=True, metadata={"example": "开餐前 2 小时截止"})
    rules_text = ma.fields.List(ma.fields.String(), required=True, metadata={
        "description": "规则说明（供小程序直接展示）", "example": ["供餐时间 11:30-13:00（工作日（按工作日历））",
                                                         "提前 7 天开放预订", "开餐前 2 小时截止", "截止前可取消"]})
    cancel_until_cutoff = ma.fields.Boolean(required=True)
    serving_days = ma.fields.String(required=True, metadata={"description": _SERVING_DOC})
    capacity = ma.fields.Integer(allow_none=True, metadata={"description": "每日限额，空为不限"})
    checkin_grace_minutes = ma.fields.Integer(required=True)
    is_active = ma.fields.Boolean(required=True)
    days = ma.fields.List(ma.fields.Nested(SlotDaySchema), required=True,
                          metadata={"description": "今天起若干天的供餐安排"})


class CanteenSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    company_id = ma.fields.Integer(required=True)
    company_name = ma.fields.String(required=True, metadata={"description": "运营单位"})
    place_id = ma.fields.Integer(allow_none=True)
    place_name = ma.fields.String(allow_none=True)
    tray_station_id = ma.fields.Integer(allow_none=True, metadata={"description": "餐盘回收处（光盘打卡扫码处）"})
    is_active = ma.fields.Boolean(required=True)
    operated = ma.fields.Boolean(required=True, metadata={"description": "当前用户能否管理本食堂的菜品、菜单"})
    slots = ma.fields.List(ma.fields.Nested(SlotSchema), required=True)


class CanteenListArgs(ma.Schema):
    days = ma.fields.Integer(load_default=7, validate=validate.Range(min=1, max=MAX_SCHEDULE_DAYS),
                             metadata={"description": f"列出今天起几天的供餐安排（1-{MAX_SCHEDULE_DAYS}）"})
    include_inactive = ma.fields.Boolean(load_default=False,
                                         metadata={"description": "含已停用的食堂（管理员、审计员、运营单位）"})


class CanteenDetailArgs(ma.Schema):
    days = ma.fields.Integer(load_default=7, validate=validate.Range(min=1, max=MAX_SCHEDULE_DAYS))


class CanteenBodySchema(ma.Schema):
    name = Trimmed(required=True, validate=validate.Length(min=1, max=100))
    company_id = ma.fields.Integer(required=True, metadata={"description": "运营单位（餐饮服务单位）"})
    place_id = ma.fields.Integer(allow_none=True, load_default=None)
    tray_station_id = ma.fields.Integer(allow_none=True, load_default=None)
    is_active = ma.fields.Boolean(load_default=True)


class CanteenPatchSchema(ma.Schema):
    name = Trimmed(validate=validate.Length(min=1, max=100))
    company_id = ma.fields.Integer()
    place_id = ma.fields.Integer(allow_none=True)
    tray_station_id = ma.fields.Integer(allow_none=True)
    is_active = ma.fields.Boolean()


class SlotBodySchema(ma.Schema):
    """Slot rules; checked together by the service (CANTEEN_SLOT_RULES_INVALID)."""

    meal = ma.fields.String(required=True, validate=validate.OneOf(list(MEALS)),
                            metadata={"description": _MEALS_DOC})
    serve_start = HourMinute(required=True)
    serve_end = HourMinute(required=True)
    open_days_ahead = ma.fields.Integer(metadata={"description": "1-60，默认 7"})
    cutoff_kind = ma.fields.String(metadata={"description": _CUTOFF_DOC})
    cutoff_minutes = ma.fields.Integer(allow_none=True, metadata={"description": "开餐前多少分钟截止（before_start）"})
    cutoff_time = HourMinute(allow_none=True, metadata={"description": "前一天几点截止（previous_day）"})
    cancel_until_cutoff = ma.fields.Boolean()
    serving_days = ma.fields.String(metadata={"description": _SERVING_DOC})
    capacity = ma.fields.Integer(allow_none=True)
    checkin_grace_minutes = ma.fields.Integer()
    is_active = ma.fields.Boolean()


class SlotPatchSchema(SlotBodySchema):
    meal = ma.fields.String(validate=validate.OneOf(list(MEALS)))
    serve_start = HourMinute()
    serve_end = HourMinute()


# --- dishes ------------------------------------------------------------------------------

class _PhotoField(ma.fields.Nested):
    """The dish's photo as an attachment reference (null when none)."""

    def __init__(self, **kwargs):
        super().__init__(AttachmentRefSchema, allow_none=True, dump_only=True, **kwargs)

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        photo_id = getattr(obj, "photo_id", None)
        return None if photo_id is None else db.session.get(Attachment, photo_id)


class DishSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    canteen_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    category = ma.fields.String(required=True, metadata={"example": "荤菜"})
    allergens = ma.fields.List(ma.fields.String(), required=True, metadata={"example": ["花生", "海鲜"]})
    price_cents = ma.fields.Integer(allow_none=True, metadata={"description": "价格（分），空为免费；仅供参考"})
    price_text = ma.fields.Function(lambda d: price_text(d.price_cents), required=True,
                                    metadata={"example": "8.00 元"})
    portions = ma.fields.List(ma.fields.String(), required=True, metadata={"description": _PORTIONS_DOC})
    portion_labels = ma.fields.Function(lambda d: [PORTIONS.get(p, p) for p in d.portions], required=True,
                                        metadata={"example": ["整份", "半份"]})
    photo = _PhotoField(metadata={"description": "菜品图片（需带登录令牌下载）"})
    description = ma.fields.String(required=True)
    is_active = ma.fields.Boolean(required=True)


class MenuDishSchema(DishSchema):
    """A dish on a menu, with its recent rating figures."""

    rating = ma.fields.Nested(DishRatingFiguresSchema, required=True, metadata={
        "description": f"近 {SUMMARY_DAYS} 天的菜品评价：平均星级和评价数"})


class DishBodySchema(ma.Schema):
    name = Trimmed(required=True, validate=validate.Length(min=1, max=60))
    category = Trimmed(load_default="", validate=validate.Length(max=30))
    allergens = ma.fields.List(Trimmed(validate=validate.Length(min=1, max=30)), load_default=list,
                               validate=validate.Length(max=10))
    price_cents = ma.fields.Integer(allow_none=True, load_default=None,
                                    validate=validate.Range(min=0, max=100000))
    portions = ma.fields.List(ma.fields.String(validate=validate.OneOf(list(PORTIONS))),
                              load_default=lambda: ["full"], validate=validate.Length(min=1, max=2),
                              metadata={"description": _PORTIONS_DOC})
    photo_id = ma.fields.Integer(allow_none=True, load_default=None,
                                 metadata={"description": "本人上传的图片 id（POST /api/v1/attachments）"})
    description = Trimmed(load_default="", validate=validate.Length(max=200))


class DishPatchSchema(ma.Schema):
    name = Trimmed(validate=validate.Length(min=1, max=60))
    category = Trimmed(validate=validate.Length(max=30))
    allergens = ma.fields.List(Trimmed(validate=validate.Length(min=1, max=30)), validate=validate.Length(max=10))
    price_cents = ma.fields.Integer(allow_none=True, validate=validate.Range(min=0, max=100000))
    portions = ma.fields.List(ma.fields.String(validate=validate.OneOf(list(PORTIONS))),
                              validate=validate.Length(min=1, max=2))
    photo_id = ma.fields.Integer(allow_none=True)
    description = Trimmed(validate=validate.Length(max=200))
    is_active = ma.fields.Boolean()


class DishListArgs(ma.Schema):
    include_inactive = ma.fields.Boolean(load_default=False)


class DishRemovedSchema(ma.Schema):
    deleted = ma.fields.Boolean(required=True, metadata={"description": "true：已删除；false：已被使用，改为停用"})
    dish = ma.fields.Nested(DishSchema, required=True)


# --- menus and specials ------------------------------------------------------------------

class SpecialSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    slot_id = ma.fields.Integer(required=True)
    day = BusinessDate(required=True)
    kind = ma.fields.String(required=True, metadata={"description": _KINDS_DOC})
    kind_label = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    dish_id = ma.fields.Integer(allow_none=True)
    dish_name = ma.fields.String(allow_none=True)
    price_cents = ma.fields.Integer(allow_none=True)
    price_text = ma.fields.String(required=True)
    portions_total = ma.fields.Integer(required=True)
    portions_left = ma.fields.Integer(required=True, metadata={"description": "剩余份数（0 为已抢完）"})
    opens_at = LocalDateTime(required=True, metadata={"description": "开抢时间"})
    is_open = ma.fields.Boolean(required=True)
    sold_out = ma.fields.Boolean(required=True)
    is_active = ma.fields.Boolean(required=True)


class SpecialListItemSchema(SpecialSchema):
    meal = ma.fields.String(required=True)
    meal_label = ma.fields.String(required=True)


class MenuSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    canteen_id = ma.fields.Integer(required=True)
    slot_id = ma.fields.Integer(required=True)
    meal = ma.fields.String(required=True, metadata={"description": _MEALS_DOC})
    meal_label = ma.fields.String(required=True)
    day = BusinessDate(required=True)
    weekday = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"description": "；".join(
        f"{k}：{v}" for k, v in MENU_STATUSES.items()) + "（员工只看到已发布的）"})
    published_at = LocalDateTime(allow_none=True)
    note = ma.fields.String(required=True)
    cutoff_at = LocalDateTime(required=True, metadata={"description": "该餐次报餐截止时间；已发布菜单在此之前可修改"})
    editable = ma.fields.Boolean(required=True)
    dishes = ma.fields.List(ma.fields.Nested(MenuDishSchema), required=True)
    specials = ma.fields.List(ma.fields.Nested(SpecialSchema), required=True)


class MenuListArgs(ma.Schema):
    canteen_id = ma.fields.Integer(required=True)
    first = BusinessDate(required=True, data_key="from", metadata={"description": "起始日期（含）"})
    last = BusinessDate(required=True, data_key="to", metadata={"description": "结束日期（含），最多 62 天"})
    slot_id = ma.fields.Integer(metadata={"description": "只看一个餐次"})


class MenuListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MenuSchema), required=True)


class MenuBodySchema(ma.Schema):
    slot_id = ma.fields.Integer(required=True)
    day = BusinessDate(required=True)
    dish_ids = ma.fields.List(ma.fields.Integer(), required=True, validate=validate.Length(min=1, max=60),
                              metadata={"description": "按展示顺序"})
    note = Trimmed(load_default="", validate=validate.Length(max=200))


class SpecialBodySchema(ma.Schema):
    slot_id = ma.fields.Integer(required=True)
    day = BusinessDate(required=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf(list(SPECIAL_KINDS)),
                            metadata={"description": _KINDS_DOC})
    name = Trimmed(required=True, validate=validate.Length(min=1, max=60))
    dish_id = ma.fields.Integer(allow_none=True, load_default=None)
    price_cents = ma.fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0, max=100000))
    portions_total = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=100000))
    opens_at = LocalDateTime(required=True, metadata={"description": "开抢时间（带时区），须早于报餐截止"})


class SpecialPatchSchema(ma.Schema):
    kind = ma.fields.String(validate=validate.OneOf(list(SPECIAL_KINDS)))
    name = Trimmed(validate=validate.Length(min=1, max=60))
    dish_id = ma.fields.Integer(allow_none=True)
    price_cents = ma.fields.Integer(allow_none=True, validate=validate.Range(min=0, max=100000))
    portions_total = ma.fields.Integer(validate=validate.Range(min=1, max=100000), metadata={
        "description": "只能增加；无人预订时可减少"})
    opens_at = LocalDateTime(metadata={"description": "开抢前可修改"})


class SpecialListArgs(ma.Schema):
    first = BusinessDate(required=True, data_key="from")
    last = BusinessDate(required=True, data_key="to")


class SpecialListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SpecialListItemSchema), required=True)


# --- production --------------------------------------------------------------------------

class ProductionArgs(ma.Schema):
    canteen_id = ma.fields.Integer(required=True)
    day = BusinessDate(required=True)
    slot_id = ma.fields.Integer(metadata={"description": "只看一个餐次"})


class ProductionExportArgs(ma.Schema):
    canteen_id = ma.fields.Integer(required=True)
    first = BusinessDate(required=True, data_key="from")
    last = BusinessDate(required=True, data_key="to", metadata={"description": "最多 62 天"})


class ProductionDishSchema(ma.Schema):
    dish_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    full = ma.fields.Integer(required=True, metadata={"description": "预选整份数"})
    half = ma.fields.Integer(required=True, metadata={"description": "预选半份数"})
    portions = ma.fields.Float(required=True, metadata={"description": "折合份数（半份计 0.5）"})
    recommended = ma.fields.Integer(required=True, metadata={"description": "建议备餐份数"})
    on_menu = ma.fields.Boolean(required=True, metadata={"description": "是否在当前菜单上（菜单改过时可能为否）"})
    rating = ma.fields.Nested(DishRatingFiguresSchema, required=True, metadata={
        "description": f"近 {SUMMARY_DAYS} 天的菜品评价：平均星级和评价数"})


class ProductionSpecialSchema(ma.Schema):
    special_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    booked = ma.fields.Integer(required=True)
    portions_total = ma.fields.Integer(required=True)
    portions_left = ma.fields.Integer(required=True)
    recommended = ma.fields.Integer(required=True)
    is_active = ma.fields.Boolean(required=True)


class ProductionSchema(ma.Schema):
    canteen_id = ma.fields.Integer(required=True)
    slot_id = ma.fields.Integer(required=True)
    meal = ma.fields.String(required=True)
    meal_label = ma.fields.String(required=True)
    day = BusinessDate(required=True)
    weekday = ma.fields.String(required=True)
    serves = ma.fields.Boolean(required=True)
    status = ma.fields.String(required=True, metadata={
        "description": "forecast：报餐截止前的预测；final：截止后的最终数"})
    cutoff_at = LocalDateTime(required=True)
    booked = ma.fields.Integer(required=True, metadata={"description": "当前预订份数（已预订 + 已取餐）"})
    no_show_rate = ma.fields.Float(required=True, metadata={"description": "近期未取餐率（0-1）"})
    rate_basis = ma.fields.String(required=True, metadata={
        "description": "weekday_slot：同餐次同星期；slot：同餐次全部日期；none：无历史（按 0）"})
    history_served = ma.fields.Integer(required=True)
    history_no_show = ma.fields.Integer(required=True)
    history_weeks = ma.fields.Integer(required=True)
    recommended = ma.fields.Integer(required=True, metadata={"description": "建议备餐份数 = ⌈预订 × (1 − 未取餐率)⌉"})
    menu_status = ma.fields.String(allow_none=True)
    dishes = ma.fields.List(ma.fields.Nested(ProductionDishSchema), required=True)
    specials = ma.fields.List(ma.fields.Nested(ProductionSpecialSchema), required=True)


class ProductionListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ProductionSchema), required=True)

