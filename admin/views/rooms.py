"""会议室管理 in the panel.

- 会议室, 暂停使用时段, 预订配额: master data (administrators write, auditors read); a room's
  rules are checked by the database's constraints, shown as form errors;
- 审批队列: pending bookings the signed-in approver may decide (通过 / 驳回), through
  blueprints.rooms.booking like the API;
- 预订记录: every booking (read-only) with 调剂 (move, with the free alternatives shown) and
  取消 (with a reason) through blueprints.rooms.adminops;
- 会议服务: the property company's tasks (its dispatchers see their rooms' only), 完成;
- 爽约暂停 (解除), 代订授权 (read-only), 使用率 (blueprints.rooms.metrics)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import flash, request
from flask_admin import BaseView, expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_admin.model.template import EndpointLinkRowAction
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import DateField, DateTimeLocalField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from admin.views.base import (
    MSG_NOT_FOUND,
    WRITE_ENDPOINTS,
    PanelModelView,
    PanelViewMixin,
    format_local,
    local_datetime_filters,
)
from app.errors import AppError
from app.extensions import db
from app.timeutil import SHANGHAI
from blueprints.rooms import adminops, loop, metrics, services
from blueprints.rooms import booking as bookings
from models import Company
from models.places import Place
from models.rooms import (
    APPROVAL_MODES,
    BOOKING_STATES,
    EQUIPMENT,
    OPEN_DAYS,
    QUOTA_SCOPES,
    SERVICE_KINDS,
    SERVICE_STATES,
    Room,
    RoomBlackout,
    RoomBooking,
    RoomDelegation,
    RoomQuota,
    RoomService,
    RoomSuspension,
)

CATEGORY = "会议室管理"
ROOM_LABELS = {
    "place": "地点（房间）", "name": "名称", "capacity": "容纳人数", "equipment": "设备", "description": "说明",
    "opens_at": "开放时间", "closes_at": "关闭时间（早于开放时间表示跨零点）", "open_days": "开放日",
    "min_minutes": "最短时长（分钟）", "max_minutes": "最长时长（分钟）", "advance_days": "可提前预订天数",
    "buffer_minutes": "会间间隔（分钟）", "approval": "审批", "approval_hours": "审批时限（小时）",
    "checkin_required": "须扫码签到", "checkin_open_minutes": "开始前可签到（分钟）",
    "release_after_minutes": "开始后未签到释放（分钟）", "departments": "可预订部门（不选为全部）",
    "property_company_id": "物业公司", "is_active": "启用", "created_at": "创建时间"}


def _label(mapping):
    return lambda view, context, model, name: mapping.get(getattr(model, name), getattr(model, name))


def _when(view, context, model, name):
    return bookings.when_text(model.start_at, model.end_at)


class RoomView(PanelModelView):
    audit_name = "room"
    audit_value_fields = ("name", "capacity", "approval", "is_active")
    column_list = ["name", "place", "capacity", "equipment", "opens_at", "closes_at", "approval", "is_active"]
    column_labels = ROOM_LABELS
    column_formatters = {"approval": _label(APPROVAL_MODES),
                         "equipment": lambda v, c, m, n: "、".join(EQUIPMENT.get(e, e) for e in m.equipment)}
    column_searchable_list = ["name"]
    form_columns = ["place", "name", "capacity", "equipment", "description", "opens_at", "closes_at", "open_days",
                    "min_minutes", "max_minutes", "advance_days", "buffer_minutes", "approval", "approval_hours",
                    "checkin_required", "checkin_open_minutes", "release_after_minutes", "departments",
                    "property_company_id", "is_active"]
    form_overrides = {"equipment": SelectMultipleField, "open_days": SelectField, "approval": SelectField,
                      "property_company_id": SelectField}
    form_args = {
        "equipment": {"choices": list(EQUIPMENT.items()), "validators": [Optional()]},
        "open_days": {"choices": list(OPEN_DAYS.items())},
        "approval": {"choices": list(APPROVAL_MODES.items())},
        "place": {"query_factory": lambda: db.session.execute(
            select(Place).where(Place.kind == "room").order_by(Place.id)).scalars().all()},
    }

    def _company_choices(self):
        companies = db.session.execute(select(Company).where(Company.kind == "property").order_by(Company.id)).scalars()
        return [("", "（无）")] + [(str(c.id), c.name) for c in companies]

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form.property_company_id.choices = self._company_choices()
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form.property_company_id.choices = self._company_choices()
        return form

    def on_model_change(self, form, model, is_created):
        model.property_company_id = int(model.property_company_id) if model.property_company_id else None
        model.equipment = list(model.equipment or [])
        super().on_model_change(form, model, is_created)


class BlackoutView(PanelModelView):
    audit_name = "room_blackout"
    audit_value_fields = ("room_id", "reason")
    allow_delete = True
    column_list = ["room", "starts_at", "ends_at", "reason"]
    column_labels = {"room": "会议室（不选为全部）", "starts_at": "开始", "ends_at": "结束", "reason": "原因"}
    column_default_sort = ("starts_at", True)
    form_columns = ["room", "starts_at", "ends_at", "reason"]
    form_overrides = {"starts_at": DateTimeLocalField, "ends_at": DateTimeLocalField}
    form_args = {"starts_at": {"format": "%Y-%m-%dT%H:%M", "validators": [DataRequired()]},
                 "ends_at": {"format": "%Y-%m-%dT%H:%M", "validators": [DataRequired()]}}

    def validate_change(self, form, model, is_created):
        for key in ("starts_at", "ends_at"):  # the form's wall-clock times are Asia/Shanghai
            value = getattr(model, key)
            if value is not None and value.tzinfo is None:
                setattr(model, key, value.replace(tzinfo=SHANGHAI))
        if model.ends_at <= model.starts_at:
            raise AppError("ROOM_RANGE_INVALID")

    def after_model_change(self, form, model, is_created):
        query = db.session.query(RoomBooking).filter(
            RoomBooking.status.in_(bookings.LIVE), RoomBooking.start_at < model.ends_at,
            RoomBooking.end_at > model.starts_at)
        if model.room_id is not None:
            query = query.filter(RoomBooking.room_id == model.room_id)
        count = query.count()
        if count:
            flash(f"该时段已有 {count} 个预订，请在「预订记录」中调剂或取消", "warning")


class QuotaView(PanelModelView):
    audit_name = "room_quota"
    audit_value_fields = ("scope", "department_id", "bookings_per_week", "minutes_per_day")
    allow_delete = True
    column_list = ["scope", "department", "bookings_per_week", "minutes_per_day"]
    column_labels = {"scope": "范围", "department": "部门（不选为默认）", "bookings_per_week": "每周预订次数上限",
                     "minutes_per_day": "每日预订分钟上限"}
    column_formatters = {"scope": _label(QUOTA_SCOPES)}
    form_columns = ["scope", "department", "bookings_per_week", "minutes_per_day"]
    form_overrides = {"scope": SelectField}
    form_args = {"scope": {"choices": list(QUOTA_SCOPES.items())}}


class ReasonForm(FlaskForm):
    reason = TextAreaField("原因", validators=[DataRequired(), Length(max=200)])


class MoveForm(FlaskForm):
    room_id = SelectField("会议室", coerce=int)
    start_at = DateTimeLocalField("开始", format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    end_at = DateTimeLocalField("结束", format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    reason = TextAreaField("原因", validators=[DataRequired(), Length(max=200)], description="通知组织人和参会人")


def _organiser(view, context, model, name):
    return model.organiser.name


class BookingView(PanelModelView):
    """预订记录 (read-only) with 调剂 and 取消 for administrators."""

    allow_create = allow_edit = allow_delete = False
    write_endpoints = WRITE_ENDPOINTS | {"move_view", "cancel_view"}
    column_default_sort = ("start_at", True)
    column_list = ["room", "start_at", "end_at", "subject", "user_id", "department", "attendee_count", "status",
                   "decision_reason"]
    column_labels = {"room": "会议室", "start_at": "开始", "end_at": "结束", "subject": "主题", "user_id": "组织人",
                     "department": "部门", "attendee_count": "人数", "status": "状态",
                     "decision_reason": "调剂/驳回原因"}
    column_formatters = {"status": _label(BOOKING_STATES), "user_id": _organiser}
    column_filters = [FilterEqual(RoomBooking.status, "状态", options=list(BOOKING_STATES.items())),
                      FilterEqual(RoomBooking.room_id, "会议室编号"),
                      *local_datetime_filters(RoomBooking.start_at, "开始")]
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-exchange", ".move_view", title="调剂"),
                                EndpointLinkRowAction("fa fa-times", ".cancel_view", title="取消")]

    def get_query(self):
        return super().get_query().options(joinedload(RoomBooking.room), joinedload(RoomBooking.organiser))

    def _load(self):
        return self.get_one(request.args.get("id"))

    @expose("/move/", methods=("GET", "POST"))
    def move_view(self):
        booking = self._load()
        if booking is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        form = MoveForm(data={"room_id": booking.room_id} if request.method == "GET" else None)
        if request.method == "GET":
            form.start_at.data = booking.start_at.astimezone(SHANGHAI).replace(tzinfo=None)
            form.end_at.data = booking.end_at.astimezone(SHANGHAI).replace(tzinfo=None)
        form.room_id.choices = [(r.id, f"{r.name}（{r.capacity}人）") for r in db.session.execute(
            select(Room).where(Room.is_active.is_(True)).order_by(Room.name)).scalars()]
        free = adminops.alternatives(booking, limit=5) if booking.status in bookings.LIVE else []
        intro = (f"「{booking.subject}」{bookings.when_text(booking.start_at, booking.end_at)}，{booking.room.name}，"
                 f"{booking.attendee_count}人。同时段空闲且容量足够："
                 + ("、".join(f"{r['name']}（{r['capacity']}人）" for r in free) or "暂无"))

        def run():
            adminops.move(self.principal, booking.id, {
                "room_id": form.room_id.data, "start_at": form.start_at.data.replace(tzinfo=SHANGHAI),
                "end_at": form.end_at.data.replace(tzinfo=SHANGHAI), "reason": form.reason.data.strip()})
        return self.action_page(form, f"会议室调剂：预订 {booking.id}", intro, run, "已调剂并通知组织人",
                                submit_label="调剂")

    @expose("/cancel/", methods=("GET", "POST"))
    def cancel_view(self):
        booking = self._load()
        if booking is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        form = ReasonForm()
        intro = (f"取消「{booking.subject}」（{bookings.when_text(booking.start_at, booking.end_at)}，"
                 f"{booking.room.name}）。组织人会收到原因和同时段可用的会议室。")
        return self.action_page(form, f"取消预订 {booking.id}", intro,
                                lambda: adminops.admin_cancel(self.principal, booking.id, form.reason.data.strip()),
                                "已取消并通知组织人", submit_label="取消预订")


class ApprovalView(BookingView):
    """审批队列: the pending bookings the signed-in user may decide."""

    read_roles = write_roles = ("admin", "room_approver")
    write_endpoints = WRITE_ENDPOINTS | {"approve_view", "reject_view"}
    column_default_sort = ("start_at", False)
    column_list = ["room", "start_at", "end_at", "subject", "user_id", "department", "attendee_count",
                   "approval_deadline"]
    column_labels = {**BookingView.column_labels, "approval_deadline": "审批期限"}
    column_filters = []
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-check", ".approve_view", title="通过"),
                                EndpointLinkRowAction("fa fa-ban", ".reject_view", title="驳回")]

    def scope(self, query):
        principal = self.principal
        ids = [b.id for b in db.session.execute(bookings.approvals_query(principal)).scalars()] if principal else []
        return query.filter(RoomBooking.id.in_(ids or [-1]))

    @expose("/approve/", methods=("GET", "POST"))
    def approve_view(self):
        booking = self._load()
        if booking is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        intro = f"「{booking.subject}」{bookings.when_text(booking.start_at, booking.end_at)}，{booking.room.name}"
        return self.action_page(FlaskForm(), f"审批通过：预订 {booking.id}", intro,
                                lambda: bookings.approve(self.principal, booking.id), "已通过", submit_label="通过")

    @expose("/reject/", methods=("GET", "POST"))
    def reject_view(self):
        booking = self._load()
        if booking is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        form = ReasonForm()
        intro = f"「{booking.subject}」{bookings.when_text(booking.start_at, booking.end_at)}，{booking.room.name}"
        return self.action_page(form, f"驳回：预订 {booking.id}", intro,
                                lambda: bookings.reject(self.principal, booking.id, form.reason.data.strip()),
                                "已驳回", submit_label="驳回")


class ServiceTaskView(PanelModelView):
    """会议服务: a property company's dispatchers see their rooms' tasks (never the subject)."""

    read_roles = write_roles = ("admin", "auditor", "property_dispatcher")
    allow_create = allow_edit = allow_delete = False
    can_view_details = False
    write_endpoints = WRITE_ENDPOINTS | {"done_view"}
    column_default_sort = ("due_at", False)
    column_list = ["due_at", "kind", "note", "room", "meeting", "attendees", "status"]
    column_labels = {"due_at": "应完成", "kind": "服务", "note": "要求", "room": "会议室", "meeting": "会议时间",
                     "attendees": "人数", "status": "状态"}
    column_formatters = {
        "kind": _label(SERVICE_KINDS), "status": _label(SERVICE_STATES),
        "room": lambda v, c, m, n: m.booking.room.place.path,
        "meeting": lambda v, c, m, n: bookings.when_text(m.booking.start_at, m.booking.end_at),
        "attendees": lambda v, c, m, n: m.booking.attendee_count}
    column_filters = [FilterEqual(RoomService.status, "状态", options=list(SERVICE_STATES.items())),
                      *local_datetime_filters(RoomService.due_at, "应完成")]
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-check", ".done_view", title="完成")]

    def scope(self, query):
        principal = self.principal
        if principal is None or principal.reads_everything:
            return query
        return query.join(RoomBooking, RoomBooking.id == RoomService.booking_id).join(
            Room, Room.id == RoomBooking.room_id).filter(Room.property_company_id.in_(
                services.companies_of(principal) or [-1]))

    @expose("/done/", methods=("GET", "POST"))
    def done_view(self):
        task = self.get_one(request.args.get("id"))
        if task is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        intro = (f"{SERVICE_KINDS.get(task.kind)}：{task.booking.room.place.path}，"
                 f"{bookings.when_text(task.booking.start_at, task.booking.end_at)}，{task.booking.attendee_count}人")
        return self.action_page(FlaskForm(), f"完成会议服务 {task.id}", intro,
                                lambda: services.mark_done(self.principal, task.id), "已完成", submit_label="完成")


class SuspensionView(PanelModelView):
    allow_create = allow_edit = allow_delete = False
    write_endpoints = WRITE_ENDPOINTS | {"lift_view"}
    column_default_sort = ("id", True)
    column_list = ["user", "starts_at", "ends_at", "no_shows", "reason", "lifted_at", "lift_reason"]
    column_labels = {"user": "人员", "starts_at": "开始", "ends_at": "暂停至", "no_shows": "未签到次数",
                     "reason": "原因", "lifted_at": "解除时间", "lift_reason": "解除说明"}
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-unlock", ".lift_view", title="解除")]

    @expose("/lift/", methods=("GET", "POST"))
    def lift_view(self):
        suspension = self.get_one(request.args.get("id"))
        if suspension is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        form = ReasonForm()
        intro = f"{suspension.user.name}：{suspension.reason}，暂停至 {format_local(suspension.ends_at)}"
        return self.action_page(form, f"解除会议室预订暂停 {suspension.id}", intro,
                                lambda: loop.lift_suspension(self.principal, suspension.id, form.reason.data.strip()),
                                "已解除", submit_label="解除")


class DelegationView(PanelModelView):
    allow_create = allow_edit = allow_delete = False
    column_list = ["leader", "secretary", "created_at", "revoked_at"]
    column_labels = {"leader": "授权人（领导）", "secretary": "代订人", "created_at": "授权时间",
                     "revoked_at": "撤销时间"}


class UtilisationForm(FlaskForm):
    date_from = DateField("起始日期", validators=[DataRequired()])
    date_to = DateField("截止日期", validators=[DataRequired()])


COLUMNS = [("room_name", "会议室"), ("open_hours", "开放小时"), ("booked_hours", "预订小时"),
           ("used_hours", "使用小时"), ("utilisation_pct", "使用率%"), ("no_show", "未签到"),
           ("no_show_rate", "未签到率"), ("cancelled", "取消"), ("peak_hours", "高峰时段")]


class UtilisationView(PanelViewMixin, BaseView):
    """使用率: booked and used hours, no-show rate and peak hours per room."""

    @expose("/", methods=("GET",))
    def index(self):
        today = datetime.now(SHANGHAI).date()
        form = UtilisationForm(request.args, meta={"csrf": False})
        if not request.args:
            form.date_from.data, form.date_to.data = today - timedelta(days=27), today
        rows, status = [], 200
        if form.validate():
            try:
                rows = metrics.utilisation(form.date_from.data, form.date_to.data)
            except AppError as exc:
                flash(exc.message, "error")
                status = exc.status
        else:
            status = 400
        return self.render("admin_panel/table.html", title="会议室使用率", form=form,
                           headers=[label for _, label in COLUMNS],
                           rows=[[_cell(row, key) for key, _ in COLUMNS] for row in rows]), status


def _cell(row: dict, key: str):
    value = row.get(key)
    if key == "peak_hours":
        return "、".join(f"{p['hour']:02d}:00" for p in value or [])
    return "" if value is None else value


def add_views(admin) -> None:
    admin.add_view(RoomView(Room, name="会议室", category=CATEGORY, endpoint="room", url="rooms"))
    admin.add_view(BlackoutView(RoomBlackout, name="暂停使用时段", category=CATEGORY, endpoint="room_blackout",
                                url="room-blackouts"))
    admin.add_view(QuotaView(RoomQuota, name="预订配额", category=CATEGORY, endpoint="room_quota", url="room-quotas"))
    admin.add_view(ApprovalView(RoomBooking, name="审批队列", category=CATEGORY, endpoint="room_approval",
                                url="room-approvals"))
    admin.add_view(BookingView(RoomBooking, name="预订记录", category=CATEGORY, endpoint="room_booking",
                               url="room-bookings"))
    admin.add_view(ServiceTaskView(RoomService, name="会议服务", category=CATEGORY, endpoint="room_service",
                                   url="room-services"))
    admin.add_view(SuspensionView(RoomSuspension, name="爽约暂停", category=CATEGORY, endpoint="room_suspension",
                                  url="room-suspensions"))
    admin.add_view(DelegationView(RoomDelegation, name="代订授权", category=CATEGORY, endpoint="room_delegation",
                                  url="room-delegations"))
    admin.add_view(UtilisationView(name="使用率", category=CATEGORY, endpoint="room_utilisation",
                                   url="room-utilisation"))

