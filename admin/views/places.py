"""Administrator views: the tree of places (with each place's mini-program code) and the
working calendar. Auditors read both; only administrators change them, and the hierarchy
and calendar rules are the services' own (`blueprints.places.service.check_place`,
`blueprints.places.calendar`), so the panel cannot store what the API would refuse."""

from __future__ import annotations

from datetime import MAXYEAR, MINYEAR, date

from flask import make_response, request
from flask_admin import expose
from flask_admin.contrib.sqla.filters import (
    BooleanEqualFilter,
    DateBetweenFilter,
    FilterEqual,
    FilterLike,
    IntEqualFilter,
)
from flask_admin.model.template import EndpointLinkRowAction
from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased, joinedload
from wtforms.validators import Length, Regexp

from admin.views.base import MSG_NOT_FOUND, WRITE_ENDPOINTS, PanelModelView, ParentNameFilter
from app.errors import AppError
from app.extensions import db
from blueprints.places import service
from models.calendar import CALENDAR_KINDS, CalendarDay
from models.places import PLACE_KINDS, Place

PLACE_KIND_CHOICES = list(PLACE_KINDS.items())
CALENDAR_KIND_CHOICES = list(CALENDAR_KINDS.items())
WEEKDAYS = "一二三四五六日"


def _parent_choices() -> list[Place]:
    """Buildings and floors, by path."""
    places = db.session.execute(select(Place).where(Place.kind.in_(("building", "floor")))
                                .options(joinedload(Place.parent))).scalars()
    return sorted(places, key=lambda place: place.path)


def _name_formatter(view, context, model, name):
    depth = len(model.lineage()) - 1
    return "\u2003" * (2 * depth) + ("└ " if depth else "") + model.name


class PlaceView(PanelModelView):
    """地点: listed as a tree (each building, then its floors, then their rooms and areas)
    unless a column sort is chosen."""

    audit_name = "place"
    audit_value_fields = ("kind", "name", "code", "parent", "sort_order", "is_active")
    allow_delete = True  # the database refuses while other places (or later, bookings) refer to it
    write_endpoints = WRITE_ENDPOINTS | {"wxa_code_view"}

    column_list = ["name", "kind", "code", "parent", "sort_order", "is_active"]
    column_details_list = ["id", "path", "kind", "name", "code", "parent", "sort_order", "is_active",
                           "created_at", "updated_at"]
    column_labels = {"id": "编号 ID", "name": "名称", "kind": "类型", "code": "编码", "parent": "上级地点",
                     "sort_order": "排序", "is_active": "启用", "path": "完整路径", "created_at": "创建时间",
                     "updated_at": "更新时间"}
    column_choices = {"kind": PLACE_KIND_CHOICES}
    column_formatters = {"name": _name_formatter, "path": lambda v, c, m, n: m.path}
    column_sortable_list = ["name", "kind", "code", "sort_order"]
    column_searchable_list = ["name", "code"]
    column_filters = [FilterEqual(Place.kind, "类型", options=PLACE_KIND_CHOICES),
                      ParentNameFilter(Place.name, "上级地点"),
                      IntEqualFilter(Place.parent_id, "上级地点 ID"),
                      FilterLike(Place.name, "名称"),
                      BooleanEqualFilter(Place.is_active, "启用")]
    form_columns = ["kind", "name", "code", "parent", "sort_order", "is_active"]
    form_choices = {"kind": PLACE_KIND_CHOICES}
    form_args = {
        "name": {"validators": [Length(min=1, max=100)]},
        "code": {"validators": [Regexp(r"^[A-Za-z0-9_.\-]{0,32}$",
                                       message="编码只能由字母、数字、点、下划线和连字符组成，最长 32 位")]},
        "parent": {"query_factory": _parent_choices, "description": "楼宇不填；楼层选楼宇；房间、区域选楼层或楼宇"},
    }
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-qrcode", ".wxa_code_view", title="小程序码")]

    def get_query(self):
        return super().get_query().options(joinedload(Place.parent).joinedload(Place.parent))

    def _apply_sorting(self, query, joins, sort_column, sort_desc):
        if sort_column is not None:
            return super()._apply_sorting(query, joins, sort_column, sort_desc)
        # Tree order, for a tree at most three deep (building → floor → room or area): each
        # row's chain [root, middle, leaf] padded with NULLs, compared level by level.
        up1, up2 = aliased(Place), aliased(Place)
        query = query.outerjoin(up1, Place.parent_id == up1.id).outerjoin(up2, up1.parent_id == up2.id)
        root_sort = func.coalesce(up2.sort_order, up1.sort_order, Place.sort_order)
        root_id = func.coalesce(up2.id, up1.id, Place.id)
        mid_sort = case((up2.id.is_not(None), up1.sort_order), (up1.id.is_not(None), Place.sort_order))
        mid_id = case((up2.id.is_not(None), up1.id), (up1.id.is_not(None), Place.id))
        leaf_sort = case((up2.id.is_not(None), Place.sort_order))
        leaf_id = case((up2.id.is_not(None), Place.id))
        return query.order_by(root_sort, root_id, mid_sort.nulls_first(), mid_id.nulls_first(),
                              leaf_sort.nulls_first(), leaf_id.nulls_first()), joins

    def validate_change(self, form, model, is_created):
        model.name = (model.name or "").strip()
        model.code = (model.code or "").strip() or None
        if not model.name:
            raise AppError("VALIDATION_ERROR", message="请填写名称")
        with db.session.no_autoflush:  # a flush now would hide the changes from the audit entry
            service.check_place(model, model.kind, model.parent)

    @expose("/wxa-code/")
    def wxa_code_view(self):
        """The place's mini-program code as PNG, to print (administrators)."""
        place = self.get_one(request.args.get("id"))
        if place is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        try:
            png = service.place_code_png(place)
            db.session.commit()
        except AppError as exc:
            db.session.rollback()
            return self.error_page(exc.status, "无法生成小程序码", exc.message)
        response = make_response(png)
        response.headers["Content-Type"] = "image/png"
        response.headers["Content-Disposition"] = f'inline; filename="place-{place.id}.png"'
        return response


class YearFilter(FilterEqual):
    """年份: the calendar entries of one year."""

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) >= date(value, 1, 1), self.get_column(alias) <= date(value, 12, 31))

    def clean(self, value):
        year = int(value)
        if not MINYEAR <= year <= MAXYEAR:
            raise ValueError("year out of range")
        return year

    def operation(self):
        return "等于"


def _weekday_formatter(view, context, model, name):
    return f"星期{WEEKDAYS[model.day.isoweekday() - 1]}"


class CalendarDayView(PanelModelView):
    """工作日历: the exceptions to the weekday rule. A whole year is best loaded through
    PUT /api/v1/calendar/{year}; single days can be corrected here."""

    audit_name = "calendar_day"
    audit_value_fields = ("day", "kind", "name")
    allow_delete = True

    column_list = ["day", "weekday", "kind", "name"]
    column_details_list = ["day", "weekday", "kind", "name", "created_at"]
    column_labels = {"day": "日期", "weekday": "星期", "kind": "类型", "name": "名称", "created_at": "创建时间"}
    column_choices = {"kind": CALENDAR_KIND_CHOICES}
    column_formatters = {"weekday": _weekday_formatter}
    column_formatters_detail = {"weekday": _weekday_formatter}
    column_sortable_list = ["day", "kind", "name"]
    column_default_sort = ("day", False)
    column_searchable_list = ["name"]
    column_filters = [YearFilter(CalendarDay.day, "年份"),
                      FilterEqual(CalendarDay.kind, "类型", options=CALENDAR_KIND_CHOICES),
                      DateBetweenFilter(CalendarDay.day, "日期")]
    form_columns = ["day", "kind", "name"]
    form_choices = {"kind": CALENDAR_KIND_CHOICES}
    form_args = {"name": {"validators": [Length(min=1, max=50)]}, "day": {"format": "%Y-%m-%d"}}

    def validate_change(self, form, model, is_created):
        model.name = (model.name or "").strip()
        if not model.name:
            raise AppError("VALIDATION_ERROR", message="请填写名称")
        if model.kind == "workday" and model.day is not None and model.day.isoweekday() < 6:
            raise AppError("CALENDAR_WORKDAY_NOT_WEEKEND")
