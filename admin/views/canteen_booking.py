"""食堂管理 → 报餐记录 / 未取餐处理 in the panel.

- Bookings (read-only): administrators and auditors see all; a canteen operator's managers
  and staff only the bookings of the canteens they operate (`scope`: list, count, one record).
- Penalties (warnings, suspensions): administrators and auditors; a row action 解除 for
  administrators calls blueprints.canteen.booking.lift_penalty like the API does (audited).
"""

from __future__ import annotations

from flask import request
from flask_admin import expose
from flask_admin.contrib.sqla.filters import DateBetweenFilter, FilterEqual
from flask_admin.model.template import EndpointLinkRowAction
from flask_wtf import FlaskForm
from sqlalchemy.orm import joinedload
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from admin.views.base import MSG_NOT_FOUND, WRITE_ENDPOINTS, PanelModelView, local_datetime_filters
from app.extensions import db
from blueprints.canteen import booking as service
from blueprints.canteen.rules import MEAL
from models import User
from models.canteen import BOOKING_STATES, MEALS, PENALTY_KINDS, BookingPenalty, MealBooking

CATEGORY = "食堂管理"


def _user(view, context, model, name):
    user = db.session.get(User, model.user_id)
    return user.name if user else ""


def _status(view, context, model, name):
    return MEAL.label(model.status)


def _meal(view, context, model, name):
    return MEALS.get(model.meal, model.meal)


def _special(view, context, model, name):
    special = service.special_of(model)
    return special.name if special else ""


def _dishes(view, context, model, name):
    return "、".join(f"{d['name']}{'（半份）' if d['portion'] == 'half' else ''}" for d in service.dishes_of(model))


class MealBookingView(PanelModelView):
    """报餐记录 (read-only), scoped to the canteens the signed-in operator runs."""

    read_roles = ("admin", "auditor", "canteen_manager", "canteen_staff")
    allow_create = allow_edit = allow_delete = False
    column_default_sort = ("id", True)
    column_list = ["day", "meal", "canteen", "user_id", "status", "special_id", "created_at", "served_at"]
    column_details_list = ["id", "day", "meal", "canteen", "user_id", "status", "special_id", "dishes",
                           "created_at", "served_at", "cancelled_at"]
    column_labels = {"id": "编号", "day": "用餐日期", "meal": "餐次", "canteen": "食堂", "user_id": "预订人",
                     "status": "状态", "special_id": "特色菜", "dishes": "预选菜品", "created_at": "预订时间",
                     "served_at": "取餐时间", "cancelled_at": "取消时间"}
    column_formatters = {"user_id": _user, "status": _status, "meal": _meal, "special_id": _special,
                         "dishes": _dishes}
    column_formatters_detail = column_formatters
    column_sortable_list = ["day", "created_at"]
    column_filters = [FilterEqual(MealBooking.status, "状态", options=list(BOOKING_STATES.items())),
                      FilterEqual(MealBooking.meal, "餐次", options=list(MEALS.items())),
                      DateBetweenFilter(MealBooking.day, "用餐日期"),
                      *local_datetime_filters(MealBooking.created_at, "预订时间")]

    def can_read(self, principal) -> bool:
        return principal.reads_everything or bool(service.operated_canteen_ids(principal))

    def scope(self, query):
        principal = self.principal
        ids = service.operated_canteen_ids(principal) if principal is not None else []
        return query if ids is None else query.filter(MealBooking.canteen_id.in_(ids or [-1]))

    def get_query(self):
        return super().get_query().options(joinedload(MealBooking.canteen))


class LiftForm(FlaskForm):
    note = TextAreaField("说明", validators=[Optional(), Length(max=200)], description="写入审计日志（可不填）")


def _penalty_user(view, context, model, name):
    user = db.session.get(User, model.user_id)
    return user.name if user else ""


def _penalty_kind(view, context, model, name):
    return PENALTY_KINDS.get(model.kind, model.kind)


def _penalty_state(view, context, model, name):
    if model.lifted_at is not None:
        return "已解除"
    if model.kind == "suspension":
        return "生效中" if service.penalty_active(model) else "已到期"
    return "已提醒"


class PenaltyView(PanelModelView):
    """未取餐处理: warnings and suspensions; administrators lift them."""

    allow_create = allow_edit = allow_delete = False
    write_endpoints = WRITE_ENDPOINTS | {"lift_view"}
    column_default_sort = ("id", True)
    column_list = ["created_at", "user_id", "kind", "no_shows", "starts_on", "ends_on", "state", "reason"]
    column_details_list = ["id", "created_at", "user_id", "kind", "no_shows", "trigger_booking_id", "starts_on",
                           "ends_on", "state", "reason", "lifted_at"]
    column_labels = {"id": "编号", "created_at": "时间", "user_id": "人员", "kind": "类型", "no_shows": "未取餐次数",
                     "trigger_booking_id": "触发预订", "starts_on": "开始日期", "ends_on": "结束日期", "state": "状态",
                     "reason": "原因", "lifted_at": "解除时间"}
    column_formatters = {"user_id": _penalty_user, "kind": _penalty_kind, "state": _penalty_state}
    column_formatters_detail = column_formatters
    column_sortable_list = ["created_at", "ends_on"]
    column_filters = [FilterEqual(BookingPenalty.kind, "类型", options=list(PENALTY_KINDS.items())),
                      *local_datetime_filters(BookingPenalty.created_at, "时间")]
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-unlock", ".lift_view", title="解除")]

    @expose("/lift/", methods=("GET", "POST"))
    def lift_view(self):
        penalty = self.get_one(request.args.get("id"))
        if penalty is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        form = LiftForm()
        user = db.session.get(User, penalty.user_id)
        intro = (f"{user.name if user else ''}：{PENALTY_KINDS.get(penalty.kind)}，{penalty.reason}。"
                 "解除后不再限制报餐，此前的未取餐记录也不再计入。")
        return self.action_page(
            form, f"解除未取餐处理 {penalty.id}", intro,
            lambda: service.lift_penalty(self.principal, penalty.id, (form.note.data or "").strip() or None),
            "已解除", submit_label="解除")


def add_views(admin) -> None:
    admin.add_view(MealBookingView(MealBooking, name="报餐记录", category=CATEGORY, endpoint="meal_booking",
                                   url="canteen-bookings"))
    admin.add_view(PenaltyView(BookingPenalty, name="未取餐处理", category=CATEGORY, endpoint="booking_penalty",
                               url="canteen-penalties"))
