"""Schemas of invitations, requests, walk-ins, decisions and the application views.

Phones and ID numbers come in here and never go out: responses carry only `phone_masked`
and `id_masked` (the visitor's and each companion's)."""

from __future__ import annotations

from datetime import datetime

import marshmallow as ma
from marshmallow import validate

from app.auth import current_principal_or_none
from app.extensions import db
from app.lifecycle import TimelineField
from app.schemas import BusinessDate, Id, LocalDateTime, PageArgs, Trimmed, computed, page_schema
from app.timeutil import local
from blueprints.visitors import rules
from blueprints.visitors import visits as service
from blueprints.visitors.rules import VISIT
from models.visitors import ID_TYPES, RECURRENCES, VISIT_SOURCES, VISIT_STATES, VisitorConsent

_PURPOSE = validate.Length(min=1, max=200, error="来访事由须为 1–200 字")
_NAME = validate.Length(min=1, max=50, error="姓名须为 1–50 字")
_ID_TYPE = validate.OneOf(list(ID_TYPES), error="证件类型无效")
_ID_TYPES_DOC = "；".join(f"{k}：{v}" for k, v in ID_TYPES.items())


# --- requests -------------------------------------------------------------------------------

class VisitRecurrenceSchema(ma.Schema):
    weekdays = ma.fields.List(ma.fields.Integer(validate=validate.Range(min=0, max=6)), load_default=list,
                              validate=validate.Length(max=7),
                              metadata={"description": "每周的哪几天（0=周一…6=周日），缺省为首次来访的星期"})
    until = BusinessDate(load_default=None, metadata={"description": "截止日期（含），与 count 二选一"})
    count = ma.fields.Integer(load_default=None, validate=validate.Range(min=1, max=366),
                              metadata={"description": "来访次数，与 until 二选一"})

    @ma.validates_schema
    def _one_end(self, data, **kwargs):
        if (data.get("until") is None) == (data.get("count") is None):
            raise ma.ValidationError("须给出 until 或 count 之一", "until")


class _WindowFields(ma.Schema):
    starts_at = LocalDateTime(required=True, metadata={"example": "2030-06-03T09:00:00+08:00",
                                                       "description": "（首次）来访开始，精确到分钟"})
    ends_at = LocalDateTime(required=True, metadata={"example": "2030-06-03T11:00:00+08:00"})
    recurrence = ma.fields.Nested(VisitRecurrenceSchema, load_default=None, allow_none=True, metadata={
        "description": "每周重复（一次申请，多次来访，统一审批）；首次来访须在所选的星期之一"})

    @ma.validates_schema
    def _first_is_an_occurrence(self, data, **kwargs):
        recurrence, start = data.get("recurrence"), data.get("starts_at")
        if not recurrence or not isinstance(start, datetime):
            return
        first = local(start)
        if recurrence["until"] is not None and recurrence["until"] < first.date():
            raise ma.ValidationError("截止日期不能早于首次来访", "recurrence")
        if recurrence["weekdays"] and first.weekday() not in recurrence["weekdays"]:
            raise ma.ValidationError("首次来访须在所选的星期之一", "recurrence")


class VisitCompanionInSchema(ma.Schema):
    name = Trimmed(required=True, validate=_NAME)
    id_type = ma.fields.String(required=True, validate=_ID_TYPE, metadata={"description": _ID_TYPES_DOC})
    id_number = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=40))


class _PersonFields(ma.Schema):
    notice_version = ma.fields.String(load_default=None, validate=validate.Length(max=20), metadata={
        "description": "访客已阅读并同意的隐私告知版本（须为当前版本，见邀请详情的 notice_version）"})
    name = Trimmed(required=True, validate=_NAME, metadata={"example": "王访客"})
    phone = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=20),
                             metadata={"example": "13912345678"})
    id_type = ma.fields.String(required=True, validate=_ID_TYPE, metadata={"description": _ID_TYPES_DOC})
    id_number = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=40),
                                 metadata={"description": "证件号码（加密保存，只以掩码显示）"})
    company = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=100))
    companions = ma.fields.List(ma.fields.Nested(VisitCompanionInSchema), load_default=list,
                                validate=validate.Length(max=100),
                                metadata={"description": "随行人员（至多 VISIT_MAX_COMPANIONS 人）"})
    plate = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20),
                             metadata={"example": "京A12345"})


class _HostFields(ma.Schema):
    host_name = Trimmed(required=True, validate=_NAME, metadata={"description": "被访人姓名"})
    host_phone = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=20),
                                  metadata={"description": "被访人手机号"})
    purpose = Trimmed(required=True, validate=_PURPOSE, metadata={"example": "商务洽谈"})


class InvitationCreateSchema(_WindowFields):
    purpose = Trimmed(required=True, validate=_PURPOSE, metadata={"example": "项目对接"})
    visitor_name = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=50))
    plate = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))
    room_booking_id = Id(load_default=None, allow_none=True,
                         metadata={"description": "关联的会议室预订（本人组织或代订，与来访时间重叠）"})


class InvitationCompleteSchema(_PersonFields):
    pass


class ApplicationCreateSchema(_PersonFields, _HostFields, _WindowFields):
    pass


class WalkInCreateSchema(_PersonFields, _HostFields):
    ends_at = LocalDateTime(required=True, metadata={"description": "预计离开时间（来访从现在开始）"})


class VisitReasonSchema(ma.Schema):
    reason = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=200))


class VisitRequiredReasonSchema(ma.Schema):
    reason = Trimmed(required=True, validate=validate.Length(min=1, max=200, error="请填写 1–200 字的原因"))


class VisitMineArgs(PageArgs):
    role = ma.fields.String(load_default=None, validate=validate.OneOf(["host", "visitor"]),
                            metadata={"description": "host 我接待的、visitor 我拜访的；缺省两者"})
    status = ma.fields.String(load_default=None, validate=validate.OneOf(list(VISIT_STATES)),
                              metadata={"description": "有该状态的来访"})
    date_from = BusinessDate(load_default=None)
    date_to = BusinessDate(load_default=None)


# --- responses ------------------------------------------------------------------------------

def _actor():
    return current_principal_or_none()


class VisitPersonSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class VisitSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    application_id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, metadata={"description": ", ".join(VISIT_STATES)})
    status_label = computed(ma.fields.String, lambda v: VISIT.label(v.status))
    starts_at = LocalDateTime(required=True)
    ends_at = LocalDateTime(required=True)
    pass_valid_from = computed(LocalDateTime, rules.pass_valid_from,
                               metadata={"description": "通行证自此时起可用（开始前 VISIT_EARLY_MINUTES 分钟）"})
    checked_in_at = LocalDateTime(allow_none=True)
    checked_out_at = LocalDateTime(allow_none=True)
    available_transitions = computed(ma.fields.List, lambda v: VISIT.available(_actor(), v) if _actor() else [],
                                     cls_or_instance=ma.fields.String())


class VisitDetailSchema(VisitSchema):
    timeline = TimelineField(VISIT)


class VisitCompanionSchema(ma.Schema):
    name = ma.fields.String(required=True)
    id_type = ma.fields.String(required=True)
    id_type_label = computed(ma.fields.String, lambda c: ID_TYPES.get(c.id_type, c.id_type))
    id_masked = ma.fields.String(required=True, metadata={"example": "110***********1234"})


def _consent_version(application) -> str | None:
    if application.consent_id is None:
        return None
    return db.session.get(VisitorConsent, application.consent_id).notice_version


def _actions(application) -> list[str]:
    """The application-level decisions the caller may make now."""
    actor = _actor()
    if actor is None:
        return []
    now = rules.clock()
    release = "release_to_host" if application.source == "application" else "release"
    names = {"approve": "approve", "reject": "reject", "release": release, "cancel": "cancel"}
    return [action for action, name in names.items()
            if any(v.status in VISIT.transitions[name].source and v.ends_at > now and VISIT.may(actor, v, name)
                   for v in application.visits)]


class VisitApplicationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    source = ma.fields.String(required=True, metadata={"description": ", ".join(VISIT_SOURCES)})
    source_label = computed(ma.fields.String, lambda a: VISIT_SOURCES.get(a.source, a.source))
    status = computed(ma.fields.String, service.summary_status,
                      metadata={"description": "首个未结束来访的状态（否则最后一次来访的状态）"})
    status_label = computed(ma.fields.String, lambda a: VISIT.label(service.summary_status(a)))
    host = ma.fields.Nested(VisitPersonSchema, required=True)
    department = computed(ma.fields.String, lambda a: a.host_department.name if a.host_department else None,
                          allow_none=True)
    visitor_name = computed(ma.fields.String, lambda a: a.name, allow_none=True)
    phone_masked = ma.fields.String(allow_none=True, metadata={"example": "139****5678"})
    id_type = ma.fields.String(allow_none=True)
    id_masked = ma.fields.String(allow_none=True, metadata={"example": "110***********1234"})
    company = ma.fields.String(allow_none=True)
    purpose = ma.fields.String(required=True)
    plate = ma.fields.String(allow_none=True)
    companion_count = ma.fields.Integer(required=True)
    recurrence = ma.fields.String(allow_none=True, metadata={"description": ", ".join(RECURRENCES)})
    first_start = computed(LocalDateTime, lambda a: a.visits[0].starts_at if a.visits else None, allow_none=True)
    visit_count = computed(ma.fields.Integer, lambda a: len(a.visits))
    created_at = LocalDateTime(required=True)


def _free_visitor_spaces(application) -> int | None:
    """For a pending application with a plate: the visitor spaces still free for its first open
    window (what the host should know before approving); None otherwise."""
    from blueprints.parking.visitor_parking import availability  # parking builds on visitors

    pending = [v for v in application.visits if v.status == "pending"]
    if not application.plate or not pending:
        return None
    lots = availability(pending[0].starts_at, pending[0].ends_at)
    return sum(lot["free"] for lot in lots) if lots else None


class VisitApplicationDetailSchema(VisitApplicationSchema):
    visits = ma.fields.List(ma.fields.Nested(VisitDetailSchema), dump_only=True)
    companions = ma.fields.List(ma.fields.Nested(VisitCompanionSchema), dump_only=True)
    consent_version = computed(ma.fields.String, _consent_version, allow_none=True,
                               metadata={"description": "访客同意的隐私告知版本"})
    room_booking_id = ma.fields.Integer(allow_none=True)
    decision_reason = ma.fields.String(allow_none=True, metadata={"description": "拒绝原因"})
    held_reason = computed(ma.fields.String, lambda a: a.held_reason if _actor() and _actor().reads_everything
                           else None, allow_none=True, metadata={"description": "待复核原因（仅管理员、审计员可见）"})
    invitation_expires_at = computed(LocalDateTime, service.invitation_expires_at, allow_none=True)
    free_visitor_spaces = computed(ma.fields.Integer, _free_visitor_spaces, allow_none=True, metadata={
        "description": "待确认且带车牌的申请：首次来访时段剩余的访客车位数（0 表示已满，同意后不能预留车位）"})
    available_actions = computed(ma.fields.List, _actions, cls_or_instance=ma.fields.String(), metadata={
        "description": "当前用户可对整个申请执行的操作：approve, reject, release, cancel"})


class InvitationCreatedSchema(VisitApplicationDetailSchema):
    invitation_token = computed(ma.fields.String, lambda a: a.invitation_token, metadata={
        "description": "一次性邀请口令（只在此返回一次，服务器只保存其摘要）"})
    invitation_path = computed(ma.fields.String, lambda a: service.invitation_path(a.invitation_token), metadata={
        "description": "分享给访客的小程序页面路径", "example": "pages/visitors/invitation?token=..."})


VisitApplicationPageSchema = page_schema(VisitApplicationSchema, "VisitApplicationPage")


class InvitationVisitSchema(ma.Schema):
    starts_at = LocalDateTime(required=True)
    ends_at = LocalDateTime(required=True)
    status = ma.fields.String(required=True)
    status_label = computed(ma.fields.String, lambda v: VISIT.label(v.status))


class InvitationViewSchema(ma.Schema):
    application_id = ma.fields.Integer(allow_none=True, metadata={"description": "已填写后为申请 id"})
    host_name = ma.fields.String(required=True)
    department = ma.fields.String(allow_none=True)
    purpose = ma.fields.String(required=True)
    visitor_name = ma.fields.String(allow_none=True, metadata={"description": "邀请人填写的访客姓名（可空）"})
    plate = ma.fields.String(allow_none=True)
    recurrence = ma.fields.String(allow_none=True)
    visits = ma.fields.List(ma.fields.Nested(InvitationVisitSchema), required=True)
    expires_at = LocalDateTime(required=True)
    completed = ma.fields.Boolean(required=True)
    expired = ma.fields.Boolean(required=True)
    notice_version = ma.fields.String(required=True, metadata={"description": "当前隐私告知版本（填写时提交）"})
