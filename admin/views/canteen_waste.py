"""反食品浪费 in the panel: clean-plate check-ins (with the photo's thumbnail) and the review of
the sample, waste weighings and diner counts.

Administrators and auditors see every canteen; a canteen manager only the canteens its
company operates (`scope`: list, count, one record, the thumbnail). Review decisions (通过 /
未通过 with a reason) are row actions calling blueprints.canteen.checkins like the API does
(conditional on pending_review, points reversed, the diner notified); auditors are refused.
Weighings and diner counts are entered here (新建) and in the mini-program through the same
service (blueprints.canteen.waste); a weighing is corrected by a row action that appends a
correcting row: never edited or deleted."""

from __future__ import annotations

from flask import Response, request
from flask_admin import expose
from flask_admin.contrib.sqla.filters import DateBetweenFilter, FilterEqual
from flask_admin.model.template import EndpointLinkRowAction
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import DateField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from admin.views.base import MSG_NOT_FOUND, WRITE_ENDPOINTS, PanelModelView
from app.errors import AppError
from app.extensions import db
from blueprints.attachments import service as attachments
from blueprints.canteen import checkins, rules, waste
from models import User
from models.attachments import Attachment
from models.canteen import (
    CHECKIN_STATES,
    MEALS,
    WASTE_STAGES,
    Canteen,
    CleanPlateCheckin,
    DinerCount,
    MealSlot,
    WasteEntry,
)

CATEGORY = "反食品浪费"


def _canteen(view, context, model, name):
    canteen = db.session.get(Canteen, model.canteen_id)
    return canteen.name if canteen else ""


def _user(attr):
    def formatter(view, context, model, name):
        user_id = getattr(model, attr)
        user = db.session.get(User, user_id) if user_id else None
        return user.name if user else ""
    return formatter


def _meal(view, context, model, name):
    slot = db.session.get(MealSlot, model.slot_id) if hasattr(model, "slot_id") else None
    return MEALS.get(slot.meal, slot.meal) if slot else ""


class _CanteenScoped(PanelModelView):
    read_roles = ("admin", "auditor", "canteen_manager")
    write_roles = ("admin", "canteen_manager")
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True

    def operated_ids(self) -> list[int]:
        principal = self.principal
        if principal is None:
            return []
        return [c.id for c in db.session.execute(select(Canteen)).scalars() if rules.operates(principal, c)]

    def can_read(self, principal) -> bool:
        return principal.reads_everything or (principal.has_any("canteen_manager") and bool(self.operated_ids()))

    def can_write(self, principal) -> bool:
        return False

    def scope(self, query):
        principal = self.principal
        if principal is not None and principal.reads_everything:
            return query
        return query.filter(self.model.canteen_id.in_(self.operated_ids()))


# --- check-ins -----------------------------------------------------------------------------

def _thumbnail(view, context, model, name):
    src = view.get_url(".thumbnail_view", id=model.id)
    return Markup('<img src="{}" alt="#{}" loading="lazy" style="max-width:96px;max-height:96px">').format(
        src, model.id)


def _status(view, context, model, name):
    return CHECKIN_STATES.get(model.status, model.status)


class RejectForm(FlaskForm):
    reason = TextAreaField("未通过原因", validators=[DataRequired("请填写原因"), Length(max=checkins.REASON_MAX)],
                           description="撤销该次打卡的积分，并以消息通知打卡人")


class ApproveForm(FlaskForm):
    pass


class CheckinView(_CanteenScoped):
    write_endpoints = WRITE_ENDPOINTS | {"approve_view", "reject_view"}
    column_default_sort = ("id", True)
    column_list = ["thumbnail", "id", "canteen", "day", "user", "status", "points_transaction_id", "reject_reason",
                   "created_at"]
    column_details_list = [*column_list, "booking_id", "photo_sha256", "reviewer", "reviewed_at"]
    column_labels = {"thumbnail": "空盘照片", "id": "编号", "canteen": "食堂", "day": "日期", "user": "打卡人",
                     "status": "状态", "points_transaction_id": "积分记录", "reject_reason": "未通过原因",
                     "created_at": "打卡时间", "booking_id": "预订号", "photo_sha256": "照片 SHA-256",
                     "reviewer": "抽检人", "reviewed_at": "抽检时间"}
    column_formatters = {"thumbnail": _thumbnail, "canteen": _canteen, "user": _user("user_id"), "status": _status,
                         "reviewer": _user("reviewed_by_id")}
    column_formatters_detail = column_formatters
    column_sortable_list = ["id", "day", "created_at"]
    column_filters = [FilterEqual(CleanPlateCheckin.status, "状态", options=list(CHECKIN_STATES.items())),
                      DateBetweenFilter(CleanPlateCheckin.day, "日期")]
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-check", ".approve_view", title="抽检通过"),
                                EndpointLinkRowAction("fa fa-times", ".reject_view", title="抽检未通过")]

    def can_write(self, principal) -> bool:
        return self.can_read(principal) and (principal.is_admin or principal.has_any("canteen_manager"))

    @expose("/thumbnail/")
    def thumbnail_view(self):
        checkin = self.get_one(request.args.get("id"))
        photo = db.session.get(Attachment, checkin.photo_id) if checkin is not None else None
        if photo is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        try:
            data = attachments.read(photo, thumbnail=True)
        except AppError as exc:
            return self.error_page(exc.status, "无法读取照片", exc.message)
        response = Response(data, mimetype="image/jpeg")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def _act(self, form, title: str, run, done: str):
        checkin = self.get_one(request.args.get("id"))
        if checkin is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        intro = (f"{_canteen(self, None, checkin, None)} {checkin.day:%Y-%m-%d} 的光盘打卡 #{checkin.id}"
                 f"（当前状态：{CHECKIN_STATES.get(checkin.status)}）。只有待抽检的打卡可以处理。")
        return self.action_page(form, f"{title}：光盘打卡 {checkin.id}", intro, lambda: run(checkin.id), done,
                                submit_label=title)

    @expose("/approve/", methods=("GET", "POST"))
    def approve_view(self):
        return self._act(ApproveForm(), "抽检通过", lambda cid: checkins.approve(self.principal, cid), "已通过")

    @expose("/reject/", methods=("GET", "POST"))
    def reject_view(self):
        form = RejectForm()
        return self._act(form, "抽检未通过",
                         lambda cid: checkins.reject(self.principal, cid, form.reason.data),
                         "已记为未通过，积分已撤销并通知打卡人")


# --- waste and diners ----------------------------------------------------------------------

def _stage(view, context, model, name):
    return WASTE_STAGES.get(model.stage, model.stage)


def _slot_choices(view) -> list[tuple[int, str]]:
    """The slots the signed-in user enters figures for (an administrator: every canteen's)."""
    principal = view.principal
    rows = db.session.execute(select(MealSlot, Canteen).join(Canteen, Canteen.id == MealSlot.canteen_id)
                              .where(MealSlot.is_active).order_by(Canteen.name, MealSlot.serve_start)).all()
    return [(slot.id, f"{canteen.name} {MEALS.get(slot.meal, slot.meal)}") for slot, canteen in rows
            if principal is not None and (principal.is_admin or rules.operates(principal, canteen))]


_KG = [InputRequired("请填写重量"), NumberRange(min=0, max=9999.99, message="重量应在 0 到 9999.99 千克之间")]


class WasteForm(FlaskForm):
    slot_id = SelectField("食堂与餐次", coerce=int, validators=[InputRequired("请选择餐次")])
    day = DateField("日期", validators=[InputRequired("请填写日期")])
    stage = SelectField("环节", choices=list(WASTE_STAGES.items()), validators=[InputRequired("请选择环节")])
    kg = DecimalField("重量（千克）", places=2, validators=_KG)
    note = StringField("备注", validators=[Length(max=200)])


class CorrectionForm(FlaskForm):
    kg = DecimalField("更正后的重量（千克）", places=2, validators=_KG)
    note = StringField("更正原因", validators=[DataRequired("请填写更正原因"), Length(max=200)])


class DinerCountForm(FlaskForm):
    slot_id = SelectField("食堂与餐次", coerce=int, validators=[InputRequired("请选择餐次")])
    day = DateField("日期", validators=[InputRequired("请填写日期")])
    diners = IntegerField("实际就餐人数（含临时就餐）", validators=[
        InputRequired("请填写人数"), NumberRange(min=0, max=100000, message="人数不正确")])


class _EntryView(_CanteenScoped):
    """新建 writes through blueprints.canteen.waste (the service decides and audits)."""

    allow_create = True
    write_roles = ("admin", "canteen_manager")

    def can_write(self, principal) -> bool:
        return self.can_read(principal) and principal.has_any(*self.write_roles)


class WasteEntryView(_EntryView):
    write_endpoints = WRITE_ENDPOINTS | {"correct_view"}
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-pencil", ".correct_view", title="更正")]

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        form = WasteForm()
        form.slot_id.choices = _slot_choices(self)
        return self.action_page(
            form, "登记浪费称重", "记录只增不改：填错了请在列表中“更正”，原记录保留。",
            lambda: waste.add_waste(self.principal, form.slot_id.data, form.day.data, form.stage.data,
                                    form.kg.data, (form.note.data or "").strip()),
            "已登记", submit_label="登记")

    @expose("/correct/", methods=("GET", "POST"))
    def correct_view(self):
        entry = self.get_one(request.args.get("id"))
        if entry is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        form = CorrectionForm()
        intro = (f"{entry.day:%Y-%m-%d} {WASTE_STAGES.get(entry.stage)} 原记录 {entry.kg} 千克。"
                 "更正将追加一条新记录，原记录保留；每条记录只能更正一次（再改请更正新记录）。")
        return self.action_page(
            form, f"更正浪费称重 {entry.id}", intro,
            lambda: waste.correct_waste(self.principal, entry.id, form.kg.data, form.note.data.strip()),
            "已更正", submit_label="更正")

    column_default_sort = ("id", True)
    column_list = ["id", "canteen", "day", "meal", "stage", "kg", "note", "corrects_id", "entered_by", "created_at"]
    column_details_list = column_list
    column_labels = {"id": "编号", "canteen": "食堂", "day": "日期", "meal": "餐次", "stage": "环节",
                     "kg": "重量（千克）", "note": "备注", "corrects_id": "更正的记录", "entered_by": "填报人",
                     "created_at": "填报时间"}
    column_formatters = {"canteen": _canteen, "meal": _meal, "stage": _stage, "entered_by": _user("entered_by_id")}
    column_formatters_detail = column_formatters
    column_sortable_list = ["id", "day"]
    column_filters = [FilterEqual(WasteEntry.stage, "环节", options=list(WASTE_STAGES.items())),
                      DateBetweenFilter(WasteEntry.day, "日期")]


class DinerCountView(_EntryView):
    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        form = DinerCountForm()
        form.slot_id.choices = _slot_choices(self)
        return self.action_page(
            form, "填报实际就餐人数", "同一餐次同一天再次填报会覆盖原数字（留有审计记录）。",
            lambda: waste.set_diner_count(self.principal, form.slot_id.data, form.day.data, form.diners.data),
            "已保存", submit_label="保存")

    column_default_sort = ("day", True)
    column_list = ["canteen", "day", "meal", "diners", "entered_by", "updated_at"]
    column_details_list = column_list
    column_labels = {"canteen": "食堂", "day": "日期", "meal": "餐次", "diners": "实际就餐人数", "entered_by": "填报人",
                     "updated_at": "更新时间"}
    column_formatters = {"canteen": _canteen, "meal": _meal, "entered_by": _user("entered_by_id")}
    column_formatters_detail = column_formatters
    column_sortable_list = ["day", "diners"]
    column_filters = [DateBetweenFilter(DinerCount.day, "日期")]


def add_views(admin) -> None:
    admin.add_view(CheckinView(CleanPlateCheckin, name="光盘打卡与抽检", category=CATEGORY,
                               endpoint="antiwaste_checkin", url="antiwaste/checkins"))
    admin.add_view(WasteEntryView(WasteEntry, name="浪费称重", category=CATEGORY, endpoint="antiwaste_waste",
                                  url="antiwaste/waste"))
    admin.add_view(DinerCountView(DinerCount, name="实际就餐人数", category=CATEGORY, endpoint="antiwaste_diners",
                                  url="antiwaste/diner-counts"))
