"""Schemas of the anti-waste routes: check-ins and their review, diner counts, waste
weighings, metrics, the department ranking and the quarterly report."""

from __future__ import annotations

from decimal import Decimal

import marshmallow as ma
from marshmallow import validate

from app.extensions import db
from app.schemas import BusinessDate, Id, LocalDateTime, PageArgs, page_schema
from blueprints.attachments.schemas import AttachmentRefSchema
from blueprints.canteen import checkins
from blueprints.canteen.metrics import DEFAULT_MIN_SERVED, DEFAULT_TOP
from miniapp_api.codes import SCENE_MAX_LENGTH
from models import User
from models.attachments import Attachment
from models.canteen import CHECKIN_STATES, MEALS, WASTE_STAGES, MealBooking, MealSlot

STAGE_DOC = "环节：" + "，".join(f"{k} {v}" for k, v in WASTE_STAGES.items())
STATUS_DOC = "状态：" + "，".join(f"{k} {v}" for k, v in CHECKIN_STATES.items())


def _booking(checkin) -> MealBooking:
    return db.session.get(MealBooking, checkin.booking_id)


def _user_name(user_id: int | None) -> str | None:
    user = db.session.get(User, user_id) if user_id else None
    return user.name if user else None


def _meal_label(meal: str) -> str:
    return MEALS.get(meal, meal)


# --- check-ins -----------------------------------------------------------------------------

class CheckinBodySchema(ma.Schema):
    booking_id = Id(required=True, metadata={"description": "已取餐的预订"})
    scene = ma.fields.String(required=True, validate=validate.Length(min=1, max=SCENE_MAX_LENGTH), metadata={
        "description": "扫描回盘处小程序码得到的 scene（如 p=12，即回盘处地点的 scene）"})
    attachment_id = Id(required=True, metadata={
        "description": "空盘照片：先以 purpose=checkin 上传（POST /api/v1/attachments），再把 id 填在这里"})


class CheckinSchema(ma.Schema):
    id = ma.fields.Integer()
    booking_id = ma.fields.Integer()
    canteen_id = ma.fields.Integer()
    canteen_name = ma.fields.Function(lambda c: _booking(c).canteen.name)
    day = BusinessDate()
    meal = ma.fields.Function(lambda c: _booking(c).meal, metadata={"description": "breakfast/lunch/dinner"})
    meal_label = ma.fields.Function(lambda c: _meal_label(_booking(c).meal))
    status = ma.fields.String(metadata={"description": STATUS_DOC})
    status_label = ma.fields.Function(lambda c: CHECKIN_STATES.get(c.status, c.status))
    photo = ma.fields.Function(lambda c: AttachmentRefSchema().dump(db.session.get(Attachment, c.photo_id)),
                               metadata={"description": "空盘照片（AttachmentRef）"})
    points_awarded = ma.fields.Function(checkins.points_awarded, metadata={
        "description": "打卡获得的积分（每日上限已满时为 0）"})
    points_reversed = ma.fields.Function(checkins.points_reversed, metadata={
        "description": "抽检未通过后积分是否已撤销"})
    reject_reason = ma.fields.String(allow_none=True, metadata={"description": "抽检未通过的原因"})
    reviewed_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()


class ReviewCheckinSchema(CheckinSchema):
    user_id = ma.fields.Integer()
    user_name = ma.fields.Function(lambda c: _user_name(c.user_id), metadata={"description": "打卡人"})


CheckinPageSchema = page_schema(CheckinSchema, "CanteenCheckinPage")
ReviewCheckinPageSchema = page_schema(ReviewCheckinSchema, "CanteenReviewCheckinPage")


class ReviewArgs(PageArgs):
    canteen_id = Id(required=True)


class RejectBodySchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=[validate.Length(min=1, max=checkins.REASON_MAX),
                                                       validate.Regexp(r"(?s).*\S", error="不能为空白")],
                              metadata={"description": "未通过的原因（通知打卡人，并显示在其打卡记录中）"})


# --- diner counts --------------------------------------------------------------------------

class DinerCountBodySchema(ma.Schema):
    slot_id = Id(required=True)
    day = BusinessDate(required=True)
    diners = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=100000),
                               metadata={"description": "实际就餐人数（含未预订的）"})


class DinerCountSchema(ma.Schema):
    id = ma.fields.Integer()
    canteen_id = ma.fields.Integer()
    slot_id = ma.fields.Integer()
    meal = ma.fields.Function(lambda d: db.session.get(MealSlot, d.slot_id).meal)
    day = BusinessDate()
    diners = ma.fields.Integer()
    entered_by = ma.fields.Function(lambda d: _user_name(d.entered_by_id))
    updated_at = LocalDateTime()


class RangeArgs(ma.Schema):
    canteen_id = Id(required=True)
    from_ = BusinessDate(required=True, data_key="from", metadata={"description": "开始日期（含）"})
    to = BusinessDate(required=True, metadata={"description": "结束日期（含），最长一年"})


class DinerCountListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DinerCountSchema))


# --- waste ---------------------------------------------------------------------------------

def _two_decimals(value: Decimal) -> None:
    if value != value.quantize(Decimal("0.01")):
        raise ma.ValidationError("最多两位小数")


_KG = ma.fields.Decimal(required=True, validate=[validate.Range(min=0, max=Decimal("9999.99")), _two_decimals],
                        metadata={"description": "重量（千克，最多两位小数）"})
_NOTE = validate.Length(max=200)


class WasteBodySchema(ma.Schema):
    slot_id = Id(required=True)
    day = BusinessDate(required=True)
    stage = ma.fields.String(required=True, validate=validate.OneOf(list(WASTE_STAGES)),
                             metadata={"description": STAGE_DOC})
    kg = _KG
    note = ma.fields.String(load_default="", validate=_NOTE)
    photo_id = Id(load_default=None, metadata={
        "description": "称重照片：本人上传、用途为 waste 的照片 id（可选）"})


class WasteCorrectBodySchema(ma.Schema):
    kg = _KG
    note = ma.fields.String(required=True, validate=[validate.Length(min=1, max=200),
                                                     validate.Regexp(r"(?s).*\S", error="不能为空白")],
                            metadata={"description": "更正原因"})


class WasteEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    canteen_id = ma.fields.Integer()
    slot_id = ma.fields.Integer()
    meal = ma.fields.Function(lambda e: db.session.get(MealSlot, e.slot_id).meal)
    day = BusinessDate()
    stage = ma.fields.String(metadata={"description": STAGE_DOC})
    stage_label = ma.fields.Function(lambda e: WASTE_STAGES.get(e.stage, e.stage))
    kg = ma.fields.Float(metadata={"description": "重量（千克）"})
    note = ma.fields.String()
    corrects_id = ma.fields.Integer(allow_none=True, metadata={"description": "更正的是哪条记录"})
    photo = ma.fields.Function(lambda e: None if e.photo_id is None else AttachmentRefSchema().dump(
        db.session.get(Attachment, e.photo_id)), metadata={"description": "称重照片（AttachmentRef），可无"})
    entered_by = ma.fields.Function(lambda e: _user_name(e.entered_by_id))
    created_at = LocalDateTime()


class WasteChainSchema(WasteEntrySchema):
    corrected_by_id = ma.fields.Integer(allow_none=True, metadata={"description": "更正它的记录（有则已失效）"})
    original_id = ma.fields.Integer(metadata={"description": "这一更正链的原始记录"})
    corrections = ma.fields.Integer(metadata={"description": "原始记录之后的更正次数"})


class WasteReportSchema(ma.Schema):
    canteen_id = ma.fields.Integer()
    from_ = BusinessDate(data_key="from", attribute="from")
    to = BusinessDate()
    effective = ma.fields.List(ma.fields.Nested(WasteChainSchema), metadata={
        "description": "有效数据：每条更正链的最新记录"})
    history = ma.fields.List(ma.fields.Nested(WasteChainSchema), metadata={"description": "全部记录（含被更正的）"})


# --- metrics -------------------------------------------------------------------------------

class FiguresSchema(ma.Schema):
    bookings = ma.fields.Integer(metadata={"description": "预订份数（不含已取消）"})
    served = ma.fields.Integer(metadata={"description": "已取餐"})
    no_show = ma.fields.Integer(metadata={"description": "未取餐"})
    no_show_rate = ma.fields.Float(allow_none=True, metadata={"description": "未取餐率 = 未取餐 / (已取餐 + 未取餐)"})
    diners = ma.fields.Integer(metadata={"description": "实际就餐人数（未填报的餐次按已取餐数计）"})
    diners_estimated_days = ma.fields.Integer(metadata={"description": "未填报实际人数、按已取餐数计的餐次数"})
    waste_kg = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float(),
                              metadata={"description": "各环节浪费（千克）：" + STAGE_DOC})
    waste_kg_total = ma.fields.Float()
    waste_g_per_served = ma.fields.Float(allow_none=True, metadata={"description": "每份已取餐浪费（克）"})
    waste_g_per_diner = ma.fields.Float(allow_none=True, metadata={"description": "人均浪费（克/人次）"})
    checkins = ma.fields.Integer(metadata={"description": "光盘打卡（不含抽检未通过的）"})
    checkin_rate = ma.fields.Float(allow_none=True, metadata={"description": "光盘打卡率 = 打卡 / 已取餐"})


class SlotFiguresSchema(FiguresSchema):
    slot_id = ma.fields.Integer()
    meal = ma.fields.String()
    meal_label = ma.fields.String()


class MetricsSchema(ma.Schema):
    canteen_id = ma.fields.Integer()
    canteen_name = ma.fields.String()
    from_ = BusinessDate(data_key="from", attribute="from")
    to = BusinessDate()
    total = ma.fields.Nested(FiguresSchema)
    slots = ma.fields.List(ma.fields.Nested(SlotFiguresSchema))


class RankingArgs(ma.Schema):
    from_ = BusinessDate(required=True, data_key="from")
    to = BusinessDate(required=True)
    canteen_id = Id(load_default=None, metadata={"description": "只看某个食堂（可选）"})
    min_served = ma.fields.Integer(load_default=DEFAULT_MIN_SERVED, validate=validate.Range(min=1, max=100000),
                                   metadata={"description": "参与排名的最少已取餐份数"})
    top = ma.fields.Integer(load_default=DEFAULT_TOP, validate=validate.Range(min=1, max=50),
                            metadata={"description": "红榜、黑榜各列几个部门"})


class RankedDepartmentSchema(ma.Schema):
    department_id = ma.fields.Integer()
    department_name = ma.fields.String()
    served = ma.fields.Integer()
    no_show = ma.fields.Integer()
    no_show_rate = ma.fields.Float(allow_none=True)
    checkins = ma.fields.Integer()
    checkin_rate = ma.fields.Float(allow_none=True)


class BestWorstSchema(ma.Schema):
    best = ma.fields.List(ma.fields.Nested(RankedDepartmentSchema), metadata={"description": "红榜（最好的在前）"})
    worst = ma.fields.List(ma.fields.Nested(RankedDepartmentSchema), metadata={"description": "黑榜（最差的在前）"})


class RankingSchema(ma.Schema):
    from_ = BusinessDate(data_key="from", attribute="from")
    to = BusinessDate()
    canteen_id = ma.fields.Integer(allow_none=True)
    min_served = ma.fields.Integer()
    top = ma.fields.Integer()
    eligible_departments = ma.fields.Integer(metadata={"description": "达到最少已取餐份数的部门数"})
    no_show = ma.fields.Nested(BestWorstSchema, metadata={"description": "按未取餐率（低为好）"})
    clean_plate = ma.fields.Nested(BestWorstSchema, metadata={"description": "按光盘打卡率（高为好）"})


class QuarterlyArgs(ma.Schema):
    canteen_id = Id(required=True)
    year = ma.fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    quarter = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=4))
