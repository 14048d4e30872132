"""Schemas of room bookings, series, approvals, delegations and the quota view."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.auth import current_principal_or_none
from app.lifecycle import TimelineField
from app.schemas import BusinessDate, Id, LocalDateTime, PageArgs, Trimmed, computed, page_schema
from app.timeutil import local
from blueprints.rooms import booking as service
from blueprints.rooms import rules
from blueprints.rooms.rules import ROOM
from models.rooms import BOOKING_STATES, SERIES_FREQUENCIES, SERVICE_KINDS, SERVICE_STATES

_SUBJECT = validate.Length(min=1, max=100, error="会议主题须为 1–100 字")


def _kinds_unique(services: list[dict]) -> None:
    kinds = [s["kind"] for s in services]
    if len(kinds) != len(set(kinds)):
        raise ma.ValidationError("同一项服务只能选一次")


def _unique(ids: list[int]) -> None:
    if len(ids) != len(set(ids)):
        raise ma.ValidationError("参会人重复")


# --- requests -------------------------------------------------------------------------------

class RoomServiceChoiceSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=validate.OneOf(list(SERVICE_KINDS)), metadata={
        "description": "；".join(f"{k}：{v}" for k, v in SERVICE_KINDS.items())})
    note = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=200),
                    metadata={"example": "12 人茶水，10:00 前摆好"})


class _RoomBookingFields(ma.Schema):
    subject = Trimmed(validate=_SUBJECT, metadata={"example": "季度工作推进会"})
    attendee_count = ma.fields.Integer(validate=validate.Range(min=1, max=10000))
    attendee_ids = ma.fields.List(Id(), validate=[validate.Length(max=200), _unique],
                                  metadata={"description": "参会人（在职员工 id），会收到会议通知"})
    services = ma.fields.List(ma.fields.Nested(RoomServiceChoiceSchema),
                              validate=[validate.Length(max=3), _kinds_unique],
                              metadata={"description": "会议服务，由物业公司在会前完成"})
    note = Trimmed(allow_none=True, validate=validate.Length(max=500))


class RoomBookingCreateSchema(_RoomBookingFields):
    room_id = Id(required=True)
    start_at = LocalDateTime(required=True, metadata={"example": "2030-06-03T09:00:00+08:00"})
    end_at = LocalDateTime(required=True, metadata={"example": "2030-06-03T10:30:00+08:00"})
    subject = Trimmed(required=True, validate=_SUBJECT, metadata={"example": "季度工作推进会"})
    attendee_count = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=10000))
    on_behalf_of = Id(load_default=None, allow_none=True,
                      metadata={"description": "代领导预订：领导的用户 id（须已授权本人代订）"})


class RoomBookingUpdateSchema(_RoomBookingFields):
    """Only the fields given change."""

    room_id = Id()
    start_at = LocalDateTime()
    end_at = LocalDateTime()


class RoomRecurrenceSchema(ma.Schema):
    frequency = ma.fields.String(required=True, validate=validate.OneOf(list(SERIES_FREQUENCIES)),
                                 metadata={"description": "daily 每天、weekly 每周、monthly 每月（同一日期）"})
    interval = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=12),
                                 metadata={"description": "间隔：每 N 天/周/月"})
    weekdays = ma.fields.List(ma.fields.Integer(validate=validate.Range(min=0, max=6)), load_default=list,
                              validate=validate.Length(max=7),
                              metadata={"description": "每周的哪几天（0=周一…6=周日），缺省为首次会议的星期"})
    until = BusinessDate(load_default=None, metadata={"description": "截止日期（含），与 count 二选一"})
    count = ma.fields.Integer(load_default=None, validate=validate.Range(min=1, max=366),
                              metadata={"description": "场次数，与 until 二选一"})

    @ma.validates_schema
    def _one_end(self, data, **kwargs):
        if (data.get("until") is None) == (data.get("count") is None):
            raise ma.ValidationError("须给出 until 或 count 之一", "until")


class RoomSeriesCreateSchema(RoomBookingCreateSchema):
    """start_at/end_at: the first occurrence (on a listed weekday for weekly; until not before it)."""

    recurrence = ma.fields.Nested(RoomRecurrenceSchema, required=True)
    book_available = ma.fields.Boolean(load_default=False, metadata={
        "description": "部分场次冲突时：false（默认）全部不预订并返回冲突报告；true 预订其余可用场次"})

    @ma.validates_schema
    def _first_is_an_occurrence(self, data, **kwargs):
        recurrence, start = data.get("recurrence"), data.get("start_at")
        if not recurrence or not start:
            return
        first = local(start)
        if recurrence["until"] is not None and recurrence["until"] < first.date():
            raise ma.ValidationError("截止日期不能早于首次会议", "recurrence")
        if recurrence["frequency"] == "weekly" and recurrence["weekdays"] and first.weekday() not in recurrence[
                "weekdays"]:
            raise ma.ValidationError("首次会议须在所选的星期之一", "recurrence")


class RoomSeriesUpdateSchema(_RoomBookingFields):
    start_time = ma.fields.Time(metadata={"description": "以后各场的新开始时间（北京时间 HH:MM）"})
    minutes = ma.fields.Integer(validate=validate.Range(min=1, max=1440), metadata={"description": "以后各场的新时长"})


class RoomReasonSchema(ma.Schema):
    reason = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=200))


class RoomRequiredReasonSchema(ma.Schema):
    reason = Trimmed(required=True, validate=validate.Length(min=1, max=200, error="请填写 1–200 字的原因"))


class RoomMineArgs(PageArgs):
    date_from = BusinessDate(load_default=None)
    date_to = BusinessDate(load_default=None)
    status = ma.fields.String(load_default=None, validate=validate.OneOf(list(BOOKING_STATES)))


class RoomDelegationCreateSchema(ma.Schema):
    secretary_id = Id(required=True, metadata={"description": "被授权代订的人员（在职员工）"})


# --- responses ------------------------------------------------------------------------------

class RoomPersonSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class RoomServiceSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    kind_label = computed(ma.fields.String, lambda s: SERVICE_KINDS.get(s.kind, s.kind))
    note = ma.fields.String(allow_none=True)
    due_at = LocalDateTime(required=True)
    status = ma.fields.String(required=True, metadata={"description": ", ".join(SERVICE_STATES)})
    status_label = computed(ma.fields.String, lambda s: SERVICE_STATES.get(s.status, s.status))
    done_at = LocalDateTime(allow_none=True)


def _actor():
    return current_principal_or_none()


class RoomBookingSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    room_id = ma.fields.Integer(required=True)
    room_name = computed(ma.fields.String, lambda b: b.room.name)
    location = computed(ma.fields.String, lambda b: b.room.place.path, metadata={"example": "1号楼 / 3层 / 301"})
    subject = ma.fields.String(required=True)
    start_at = LocalDateTime(required=True)
    end_at = LocalDateTime(required=True)
    blocked_until = LocalDateTime(required=True, metadata={"description": "结束时间加会议室间隔（清场）时间"})
    status = ma.fields.String(required=True, metadata={"description": ", ".join(BOOKING_STATES)})
    status_label = computed(ma.fields.String, lambda b: ROOM.label(b.status))
    organiser = computed(ma.fields.Nested, lambda b: b.organiser, nested=RoomPersonSchema)
    booked_by = computed(ma.fields.Nested, lambda b: b.booked_by, nested=RoomPersonSchema)
    department = computed(ma.fields.String, lambda b: b.department.name if b.department else None, allow_none=True)
    attendee_count = ma.fields.Integer(required=True)
    series_id = ma.fields.Integer(allow_none=True)
    approval_deadline = LocalDateTime(allow_none=True, metadata={"description": "待审批时：超过此时间自动失效"})
    decision_reason = ma.fields.String(allow_none=True, metadata={"description": "驳回、调剂或管理员取消的原因"})
    checked_in_at = LocalDateTime(allow_none=True)
    finished_at = LocalDateTime(allow_none=True)


class RoomBookingDetailSchema(RoomBookingSchema):
    note = ma.fields.String(allow_none=True)
    attendees = computed(ma.fields.List, lambda b: b.attendees, cls_or_instance=ma.fields.Nested(RoomPersonSchema))
    services = ma.fields.List(ma.fields.Nested(RoomServiceSchema), dump_only=True)
    available_transitions = computed(ma.fields.List, lambda b: ROOM.available(_actor(), b) if _actor() else [],
                                     cls_or_instance=ma.fields.String())
    editable = computed(ma.fields.Boolean, lambda b: bool(_actor()) and rules.acts_for(_actor(), b)
                        and service.editable(b), metadata={"description": "组织人一方可修改（会前）"})
    timeline = TimelineField(ROOM)


RoomBookingPageSchema = page_schema(RoomBookingSchema, "RoomBookingPage")


class RoomOccurrenceSchema(ma.Schema):
    start_at = LocalDateTime(required=True)
    end_at = LocalDateTime(required=True)
    ok = ma.fields.Boolean(required=True)
    booking_id = ma.fields.Integer(allow_none=True, metadata={"description": "该场的预订（预览、预订失败时为 null）"})
    code = ma.fields.String(allow_none=True, metadata={"description": "不能预订（或修改）的错误码"})
    message = ma.fields.String(allow_none=True)
    conflicts = ma.fields.List(ma.fields.Dict(), metadata={"description": "冲突预订的时间（不含预订人信息）"})


class RoomSeriesReportSchema(ma.Schema):
    series_id = ma.fields.Integer(allow_none=True, metadata={"description": "预览时为 null"})
    booked = ma.fields.Integer(required=True)
    occurrences = ma.fields.List(ma.fields.Nested(RoomOccurrenceSchema), required=True)


class RoomSeriesSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    room_id = ma.fields.Integer(required=True)
    frequency = ma.fields.String(required=True)
    interval = ma.fields.Integer(required=True)
    weekdays = ma.fields.List(ma.fields.Integer())
    until = BusinessDate(allow_none=True)
    count = ma.fields.Integer(allow_none=True)
    first_start = LocalDateTime(required=True)
    minutes = ma.fields.Integer(required=True)
    cancelled_at = LocalDateTime(allow_none=True)
    bookings = computed(ma.fields.List, lambda s: service.series_bookings(s.id),
                        cls_or_instance=ma.fields.Nested(RoomBookingSchema))


class RoomCountSchema(ma.Schema):
    cancelled = ma.fields.Integer(required=True)


class RoomDelegationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    leader = ma.fields.Nested(RoomPersonSchema, required=True)
    secretary = ma.fields.Nested(RoomPersonSchema, required=True)
    created_at = LocalDateTime(required=True)
    revoked_at = LocalDateTime(allow_none=True)


class RoomQuotaSchema(ma.Schema):
    bookings_per_week = ma.fields.Integer(allow_none=True, metadata={"description": "每周预订次数上限（null 不限）"})
    bookings_this_week = ma.fields.Integer(required=True)
    minutes_per_day = ma.fields.Integer(allow_none=True, metadata={"description": "每日预订时长上限（分钟）"})
    minutes_today = ma.fields.Integer(required=True)
