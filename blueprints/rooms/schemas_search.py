"""Schemas of the room list, the free-room search, a room's day view and utilisation."""

from __future__ import annotations

from datetime import UTC, datetime

import marshmallow as ma
from marshmallow import validate
from webargs.fields import DelimitedList

from app.auth import current_principal_or_none
from app.schemas import BusinessDate, Id, LocalDateTime, PageArgs, page_schema
from blueprints.attachments.schemas import AttachmentsField
from blueprints.attachments.service import thumbnail_url
from blueprints.identity.schemas import RefSchema
from blueprints.rooms import search
from models.rooms import APPROVAL_MODES, BOOKING_STATES, EQUIPMENT, OPEN_DAYS

_EQUIPMENT_DOC = "；".join(f"{code}：{label}" for code, label in EQUIPMENT.items())


# --- requests -------------------------------------------------------------------------------

class RoomFilterArgs(ma.Schema):
    building_id = Id(load_default=None, metadata={"description": "楼宇（地点 id，kind=building）"})
    capacity = ma.fields.Integer(load_default=None, validate=validate.Range(min=1, max=10000),
                                 metadata={"description": "最少容纳人数"})
    equipment = DelimitedList(ma.fields.String(validate=validate.OneOf(list(EQUIPMENT))), load_default=list,
                              validate=validate.Length(max=len(EQUIPMENT)),
                              metadata={"description": f"须全部具备的设备，逗号分隔（{_EQUIPMENT_DOC}）",
                                        "example": "projector,video_conference"})


_SEARCHABLE = validate.Range(min=datetime(2000, 1, 1, tzinfo=UTC), max=datetime(2100, 12, 31, tzinfo=UTC),
                             error="时间应在 2000 年至 2100 年之间")


class RoomSearchArgs(RoomFilterArgs, PageArgs):
    """Filters and a page (best fits on the first)."""


class RoomAvailableArgs(RoomSearchArgs):
    start_at = LocalDateTime(required=True, validate=_SEARCHABLE, metadata={
        "description": "开始时间（带时区偏移，精确到分钟）", "example": "2030-06-03T09:00:00+08:00"})
    end_at = LocalDateTime(required=True, validate=_SEARCHABLE, metadata={
        "description": "结束时间（不超过开始后 24 小时）", "example": "2030-06-03T10:30:00+08:00"})


class RoomDayArgs(ma.Schema):
    day = BusinessDate(required=True, data_key="date", metadata={"description": "日期 YYYY-MM-DD（北京时间）"})


class RoomUtilisationArgs(ma.Schema):
    date_from = BusinessDate(required=True, metadata={"description": "起始日期（含）"})
    date_to = BusinessDate(required=True, metadata={"description": "截止日期（含；最长 366 天）"})
    room_id = Id(load_default=None, metadata={"description": "只看一间会议室（可选）"})


# --- responses ------------------------------------------------------------------------------

class RoomPhotosField(AttachmentsField):
    """A room's photos; rooms listed by the search carry them already (`photo_list`, one
    query for the whole list)."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        loaded = getattr(obj, "photo_list", None)
        return loaded if loaded is not None else super().get_value(obj, attr, accessor, default)


def _node(room, kind):
    return next((p for p in room.place.lineage() if p.kind == kind), None)


_ROOM_COMPUTED = {
    "building": lambda r: _node(r, "building"),
    "floor": lambda r: _node(r, "floor"),
    "location": lambda r: r.place.path,
    "equipment_labels": lambda r: [EQUIPMENT.get(e, e) for e in r.equipment],
    "open_days_label": lambda r: OPEN_DAYS.get(r.open_days, r.open_days),
    "approval_label": lambda r: APPROVAL_MODES.get(r.approval, r.approval),
    "bookable": lambda r: search.may_book(current_principal_or_none(), r),
}


class RoomSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    description = ma.fields.String(allow_none=True)
    place_id = ma.fields.Integer(required=True, metadata={
        "description": "会议室对应的地点；其小程序码即门牌签到码（GET /api/v1/places/{place_id}/wxa-code）"})
    building = ma.fields.Nested(RefSchema, allow_none=True, dump_only=True, metadata={"description": "所在楼宇"})
    floor = ma.fields.Nested(RefSchema, allow_none=True, dump_only=True, metadata={"description": "所在楼层"})
    location = ma.fields.String(dump_only=True, metadata={"example": "1号楼 / 3层 / 301会议室"})
    capacity = ma.fields.Integer(required=True, metadata={"description": "容纳人数"})
    equipment = ma.fields.List(ma.fields.String(), required=True, metadata={"description": _EQUIPMENT_DOC})
    equipment_labels = ma.fields.List(ma.fields.String(), dump_only=True, metadata={"example": ["投影仪", "白板"]})
    opens_at = ma.fields.Time(format="%H:%M", required=True, metadata={"description": "每日开放时间（北京时间）"})
    closes_at = ma.fields.Time(format="%H:%M", required=True, metadata={
        "description": "每日关闭时间；不晚于开放时间表示跨过午夜（相等为全天）"})
    open_days = ma.fields.String(required=True, metadata={"description": ", ".join(OPEN_DAYS)})
    open_days_label = ma.fields.String(dump_only=True)
    min_minutes = ma.fields.Integer(required=True, metadata={"description": "最短预订分钟数"})
    max_minutes = ma.fields.Integer(required=True, metadata={"description": "最长预订分钟数"})
    advance_days = ma.fields.Integer(required=True, metadata={"description": "最多提前几天预订"})
    buffer_minutes = ma.fields.Integer(required=True, metadata={"description": "前后会议之间须空出的分钟数"})
    approval = ma.fields.String(required=True, metadata={"description": ", ".join(APPROVAL_MODES)})
    approval_label = ma.fields.String(dump_only=True)
    checkin_required = ma.fields.Boolean(required=True, metadata={"description": "是否须扫门牌码签到"})
    departments = ma.fields.List(ma.fields.Nested(RefSchema), required=True,
                                 metadata={"description": "可预订的部门；为空表示所有部门"})
    bookable = ma.fields.Boolean(dump_only=True, metadata={"description": "当前用户所在部门能否预订"})
    photos = RoomPhotosField("room", metadata={"description": "会议室照片"})

    def get_attribute(self, obj, attr, default):
        fn = _ROOM_COMPUTED.get(attr)
        return fn(obj) if fn is not None else super().get_attribute(obj, attr, default)


class RoomCardSchema(ma.Schema):
    """A room in a search result (search.room_cards); the whole room is GET /rooms/{id}."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    location = ma.fields.String(required=True, metadata={"example": "1号楼 / 3层 / 301会议室"})
    building = ma.fields.Nested(RefSchema, allow_none=True, required=True, metadata={"description": "所在楼宇"})
    floor = ma.fields.Nested(RefSchema, allow_none=True, required=True, metadata={"description": "所在楼层"})
    capacity = ma.fields.Integer(required=True, metadata={"description": "容纳人数"})
    equipment = ma.fields.List(ma.fields.String(), required=True, metadata={"description": _EQUIPMENT_DOC})
    equipment_labels = ma.fields.Function(lambda r: [EQUIPMENT.get(e, e) for e in r["equipment"]], required=True,
                                          metadata={"type": "array", "items": {"type": "string"},
                                                    "example": ["投影仪", "白板"]})
    approval = ma.fields.String(required=True, metadata={"description": ", ".join(APPROVAL_MODES)})
    approval_label = ma.fields.Function(lambda r: APPROVAL_MODES.get(r["approval"], r["approval"]),
                                        required=True, metadata={"type": "string"})
    checkin_required = ma.fields.Boolean(required=True, metadata={"description": "是否须扫门牌码签到"})
    bookable = ma.fields.Boolean(required=True, metadata={"description": "当前用户所在部门能否预订"})
    cover_thumbnail_url = ma.fields.Function(
        lambda r: thumbnail_url(r["cover_id"]) if r["cover_id"] is not None else None, required=True,
        metadata={"type": "string", "nullable": True, "description": "第一张照片的缩略图地址（无照片为 null）"})


class RoomNextHourSchema(ma.Schema):
    room = ma.fields.Nested(RoomCardSchema, required=True)
    start_at = LocalDateTime(required=True, metadata={"description": "最早的空闲一小时的开始"})
    end_at = LocalDateTime(required=True)


RoomPageSchema = page_schema(RoomCardSchema, "RoomPage")
RoomNextHourPageSchema = page_schema(RoomNextHourSchema, "RoomNextHourPage")


class RoomWindowSchema(ma.Schema):
    day = BusinessDate(required=True, metadata={"description": "开放时段所属日期（跨午夜的时段属于开始那天）"})
    starts_at = LocalDateTime(required=True)
    ends_at = LocalDateTime(required=True)
    open = ma.fields.Boolean(required=True, metadata={"description": "该日是否开放（按工作日历）"})


class RoomBlackoutSchema(ma.Schema):
    starts_at = LocalDateTime(required=True)
    ends_at = LocalDateTime(required=True)
    reason = ma.fields.String(required=True)
    all_rooms = ma.fields.Function(lambda b: b.room_id is None, required=True,
                                   metadata={"type": "boolean", "description": "是否为全部会议室的停用时段"})


class RoomDaySlotSchema(ma.Schema):
    start_at = LocalDateTime(required=True)
    end_at = LocalDateTime(required=True)
    blocked_until = LocalDateTime(required=True, metadata={"description": "含会议间隔的占用截止时间"})
    status = ma.fields.String(required=True, metadata={"description": ", ".join(BOOKING_STATES)})
    status_label = ma.fields.String(required=True)
    department = ma.fields.String(allow_none=True, metadata={"description": "预订人所在部门"})
    details_visible = ma.fields.Boolean(required=True, metadata={
        "description": "是否可见详情（预订人及代订人、参会人、审批人、管理员）；否则只有时段与部门"})
    id = ma.fields.Integer(metadata={"description": "预订 id（仅可见详情时）"})
    subject = ma.fields.String(metadata={"description": "会议主题（仅可见详情时）"})
    organiser = ma.fields.String(metadata={"description": "预订人姓名（仅可见详情时）"})
    mine = ma.fields.Boolean(metadata={"description": "是否为本人（或本人代订）的预订（仅可见详情时）"})


class RoomDayViewSchema(ma.Schema):
    room = ma.fields.Nested(RoomSchema, required=True)
    date = BusinessDate(required=True)
    open = ma.fields.Boolean(required=True, metadata={"description": "当日是否开放（按工作日历）"})
    windows = ma.fields.List(ma.fields.Nested(RoomWindowSchema), required=True,
                             metadata={"description": "与当日相交的开放时段（含前一日跨午夜的时段）"})
    blackouts = ma.fields.List(ma.fields.Nested(RoomBlackoutSchema), required=True)
    bookings = ma.fields.List(ma.fields.Nested(RoomDaySlotSchema), required=True,
                              metadata={"description": "与当日相交的占用中的预订（待审批、已预订、使用中、已结束）"})


class RoomPeakHourSchema(ma.Schema):
    hour = ma.fields.Integer(required=True, metadata={"description": "北京时间的小时（0-23）"})
    booked_minutes = ma.fields.Integer(required=True)


class RoomUtilisationSchema(ma.Schema):
    room_id = ma.fields.Integer(required=True)
    room_name = ma.fields.String(required=True)
    building = ma.fields.String(allow_none=True)
    floor = ma.fields.String(allow_none=True)
    capacity = ma.fields.Integer(required=True)
    is_active = ma.fields.Boolean(required=True)
    open_hours = ma.fields.Float(required=True, metadata={"description": "期间内开放时长（小时）"})
    booked_hours = ma.fields.Float(required=True, metadata={
        "description": "已预订时长（已预订、使用中、已结束、未签到）"})
    used_hours = ma.fields.Float(required=True, metadata={"description": "实际使用时长（签到至结束）"})
    booked_pct = ma.fields.Float(allow_none=True, metadata={"description": "预订率 % = 已预订 / 开放"})
    utilisation_pct = ma.fields.Float(allow_none=True, metadata={"description": "使用率 % = 实际使用 / 开放"})
    bookings = ma.fields.Integer(required=True, metadata={"description": "期间内开始的预订数（不含待审批、已取消）"})
    checked_in = ma.fields.Integer(required=True)
    finished = ma.fields.Integer(required=True)
    no_show = ma.fields.Integer(required=True)
    cancelled = ma.fields.Integer(required=True)
    no_show_rate = ma.fields.Float(allow_none=True, metadata={
        "description": "未签到率 = 未签到 / (未签到 + 使用中 + 已结束)"})
    booked_minutes_by_hour = ma.fields.List(ma.fields.Integer(), required=True,
                                            metadata={"description": "每个小时（0-23 点）的已预订分钟数"})
    peak_hours = ma.fields.List(ma.fields.Nested(RoomPeakHourSchema), required=True,
                                metadata={"description": "预订最多的 3 个小时"})


class RoomUtilisationReportSchema(ma.Schema):
    date_from = BusinessDate(required=True)
    date_to = BusinessDate(required=True)
    rooms = ma.fields.List(ma.fields.Nested(RoomUtilisationSchema), required=True)
