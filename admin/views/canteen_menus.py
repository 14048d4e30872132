"""食堂 in the panel: canteens and meal slots (administrators; auditors read), and the
operator's dishes, menus (with their dishes), specials and dish ratings (菜品评价, read-only:
the rater's name only for administrators and auditors, never for the canteen's operator).

Menus are saved and published through blueprints.canteen.menus (the same rules as the
mini-program: serving days, the cut-off lock, audit), never through a generic edit form.
Canteen managers see and edit only their company's canteens' dishes, menus and specials:
list, count, one record by id and every write go through `scope`, and every drop-down
(canteen, slot, dish) offers only their own. Slot rules and the special portions rules are
the API's (blueprints.canteen.menus): a lower portions_total once booked is refused, and
portions_left follows in one conditional UPDATE."""

from __future__ import annotations

from flask import flash, request
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, DateBetweenFilter, FilterEqual
from flask_admin.model.template import EndpointLinkRowAction
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from admin.forms import ConfirmForm
from admin.security import managed_company_ids
from admin.views.base import MSG_NOT_FOUND, WRITE_ENDPOINTS, PanelModelView, format_local
from app import audit
from app.errors import AppError
from app.extensions import db
from app.timeutil import SHANGHAI
from blueprints.canteen import menus as service
from models import Company, Place, User
from models.canteen import (
    CUTOFF_KINDS,
    MEALS,
    MENU_STATUSES,
    SERVING_DAYS,
    SPECIAL_KINDS,
    Canteen,
    Dish,
    DishRating,
    MealBooking,
    MealSlot,
    Menu,
    Special,
)

CATEGORY = "食堂"
OPERATOR_READ = ("admin", "auditor", "canteen_manager")
OPERATOR_WRITE = ("admin", "canteen_manager")


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


def _canteen_name(view, context, model, name):
    canteen = db.session.get(Canteen, model.canteen_id)
    return canteen.name if canteen else ""


def _slot_name(view, context, model, name):
    slot = db.session.get(MealSlot, model.slot_id)
    return str(slot) if slot else ""


def _price(view, context, model, name):
    return service.price_text(model.price_cents)


# --- administrators ----------------------------------------------------------------------

class CanteenView(PanelModelView):
    audit_name = "canteen"
    audit_value_fields = ("name", "company_id", "place_id", "tray_station_id", "is_active")
    column_list = ["name", "company_id", "place_id", "tray_station_id", "is_active", "created_at"]
    column_labels = {"name": "名称", "company_id": "运营单位", "place_id": "地点", "tray_station_id": "餐盘回收处",
                     "is_active": "启用", "created_at": "创建时间"}
    column_formatters = {
        "company_id": lambda v, c, m, n: service.canteen_company_name(m),
        "place_id": lambda v, c, m, n: (db.session.get(Place, m.place_id).name if m.place_id else ""),
        "tray_station_id": lambda v, c, m, n: (db.session.get(Place, m.tray_station_id).name
                                               if m.tray_station_id else ""),
    }
    column_searchable_list = ["name"]
    column_filters = [BooleanEqualFilter(Canteen.is_active, "启用")]
    form_columns = ["name", "company_id", "place_id", "tray_station_id", "is_active"]
    form_overrides = {"company_id": SelectField, "place_id": SelectField, "tray_station_id": SelectField}
    form_args = {"company_id": {"coerce": int, "validators": [DataRequired()]},
                 "place_id": {"coerce": _optional_int, "validators": [Optional()]},
                 "tray_station_id": {"coerce": _optional_int, "validators": [Optional()]}}

    def _choices(self, form):
        form.company_id.choices = [(c.id, c.name) for c in db.session.execute(
            select(Company).where(Company.kind == "canteen_operator").order_by(Company.id)).scalars()]
        places = [("", "（无）")] + [(p.id, p.name) for p in db.session.execute(
            select(Place).where(Place.is_active, Place.kind.in_(("area", "room", "building", "floor")))
            .order_by(Place.id)).scalars()]
        form.place_id.choices = form.tray_station_id.choices = places
        return form

    def create_form(self, obj=None):
        return self._choices(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._choices(super().edit_form(obj))


class MealSlotView(PanelModelView):
    audit_name = "meal_slot"
    audit_value_fields = ("meal", "serve_start", "serve_end", "open_days_ahead", "cutoff_kind", "cutoff_minutes",
                          "cutoff_time", "cancel_until_cutoff", "serving_days", "capacity", "is_active")
    column_list = ["canteen", "meal", "serve_start", "serve_end", "rules", "capacity", "is_active"]
    column_labels = {"canteen": "食堂", "meal": "餐次", "serve_start": "开餐", "serve_end": "结束", "rules": "报餐规则",
                     "open_days_ahead": "提前开放天数", "cutoff_kind": "截止方式",
                     "cutoff_minutes": "开餐前截止（分钟）", "cutoff_time": "前一天截止时间",
                     "cancel_until_cutoff": "截止前可取消", "serving_days": "供餐日",
                     "capacity": "每日限额", "checkin_grace_minutes": "光盘打卡宽限（分钟）", "is_active": "启用"}
    column_formatters = {"rules": lambda v, c, m, n: "；".join(service.rules_text(m)),
                         "meal": lambda v, c, m, n: MEALS.get(m.meal, m.meal)}
    column_filters = [FilterEqual(MealSlot.canteen_id, "食堂编号"), BooleanEqualFilter(MealSlot.is_active, "启用")]
    form_columns = ["canteen", "meal", "serve_start", "serve_end", "open_days_ahead", "cutoff_kind", "cutoff_minutes",
                    "cutoff_time", "cancel_until_cutoff", "serving_days", "capacity", "checkin_grace_minutes",
                    "is_active"]
    form_choices = {"meal": list(MEALS.items()), "cutoff_kind": list(CUTOFF_KINDS.items()),
                    "serving_days": list(SERVING_DAYS.items())}

    def validate_change(self, form, model, is_created: bool) -> None:
        values = {key: getattr(model, key) for key in (*service.SLOT_DEFAULTS, "serve_start", "serve_end")}
        for key, default in service.SLOT_DEFAULTS.items():
            if values[key] is None and default is not None:
                values[key] = default
                setattr(model, key, default)
        if values["cutoff_kind"] == "previous_day":
            values["cutoff_minutes"] = model.cutoff_minutes = None
        else:
            values["cutoff_time"] = model.cutoff_time = None
        try:
            service.validate_slot_rules(values)
        except AppError as exc:
            raise AppError(exc.code, exc.message + "：" + "；".join(exc.details["fields"].values()),
                           details=exc.details) from None


# --- operators (scoped) ------------------------------------------------------------------

class OperatorScopedView(PanelModelView):
    """Administrators and auditors see every canteen's rows; a canteen manager only those of
    the canteens their company runs."""

    read_roles = OPERATOR_READ
    write_roles = OPERATOR_WRITE

    def canteen_ids(self) -> list[int] | None:
        """None: every canteen (administrators, auditors)."""
        principal = self.principal
        if principal is None:
            return []
        if principal.reads_everything:
            return None
        companies = managed_company_ids(principal)
        return list(db.session.execute(select(Canteen.id).where(Canteen.company_id.in_(companies))).scalars())

    def canteen_column(self):
        """The row's canteen id as a SQL expression (a column, or a scalar subquery)."""
        raise NotImplementedError

    def scope(self, query):
        ids = self.canteen_ids()
        return query if ids is None else query.filter(self.canteen_column().in_(ids))

    def _canteen_choices(self):
        ids = self.canteen_ids()
        stmt = select(Canteen).order_by(Canteen.id)
        if ids is not None:
            stmt = stmt.where(Canteen.id.in_(ids))
        return [(c.id, c.name) for c in db.session.execute(stmt).scalars()]

    def _slot_choices(self):
        ids = self.canteen_ids()
        stmt = select(MealSlot).order_by(MealSlot.canteen_id, MealSlot.serve_start)
        if ids is not None:
            stmt = stmt.where(MealSlot.canteen_id.in_(ids))
        return [(s.id, str(s)) for s in db.session.execute(stmt).scalars()]

    def _dish_choices(self, canteen_ids=None):
        ids = self.canteen_ids()
        stmt = select(Dish).where(Dish.is_active).order_by(Dish.canteen_id, Dish.category, Dish.name)
        if ids is not None:
            stmt = stmt.where(Dish.canteen_id.in_(ids))
        return [(d.id, f"{d.name}（{d.category or '未分类'}）") for d in db.session.execute(stmt).scalars()]

    def _check_canteen(self, canteen_id: int | None) -> None:
        ids = self.canteen_ids()
        if canteen_id is None or (ids is not None and canteen_id not in ids):
            raise AppError("FORBIDDEN", "只能管理本单位运营的食堂")


class DishView(OperatorScopedView):
    audit_name = "dish"
    audit_value_fields = ("name", "category", "price_cents", "is_active")
    column_list = ["canteen_id", "name", "category", "price_cents", "portions", "allergens", "is_active"]
    column_labels = {"canteen_id": "食堂", "name": "菜品", "category": "类别", "price_cents": "价格",
                     "portions": "份量", "allergens": "过敏原", "description": "说明", "is_active": "启用"}
    column_formatters = {"canteen_id": _canteen_name, "price_cents": _price,
                         "portions": lambda v, c, m, n: "、".join(service.PORTIONS.get(p, p) for p in m.portions),
                         "allergens": lambda v, c, m, n: "、".join(m.allergens or [])}
    column_searchable_list = ["name", "category"]
    column_filters = [BooleanEqualFilter(Dish.is_active, "启用")]
    form_columns = ["canteen_id", "name", "category", "price_cents", "portions", "allergens_text", "description",
                    "is_active"]
    form_overrides = {"canteen_id": SelectField}
    form_args = {"canteen_id": {"coerce": int, "validators": [DataRequired()], "label": "食堂"},
                 "price_cents": {"label": "价格（分，空为免费）"}}
    form_extra_fields = {
        "portions": SelectMultipleField("份量", choices=list(service.PORTIONS.items()), default=["full"],
                                        validators=[DataRequired()]),
        "allergens_text": StringField("过敏原（用顿号或逗号分隔）"),
    }

    def canteen_column(self):
        return Dish.canteen_id

    def _prepare(self, form, obj=None):
        form.canteen_id.choices = self._canteen_choices()
        if obj is not None and not form.is_submitted():
            form.allergens_text.data = "、".join(obj.allergens or [])
        return form

    def create_form(self, obj=None):
        return self._prepare(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._prepare(super().edit_form(obj), obj)

    def populate_obj_extra(self, form, model):
        text = (form.allergens_text.data or "").replace(",", "、").replace("，", "、")
        model.allergens = list(dict.fromkeys(a.strip() for a in text.split("、") if a.strip()))
        model.portions = [p for p in service.PORTIONS if p in (form.portions.data or [])] or ["full"]

    def validate_change(self, form, model, is_created: bool) -> None:
        self._check_canteen(model.canteen_id)
        self.populate_obj_extra(form, model)


class MenuForm(FlaskForm):
    slot_id = SelectField("餐次", coerce=int, validators=[InputRequired("请选择餐次")])
    day = DateField("日期", validators=[InputRequired("请填写日期")])
    dish_ids = SelectMultipleField("菜品", coerce=int, validators=[DataRequired("请选择菜品")])
    note = StringField("备注", validators=[Optional(), Length(max=200)])
    publish = BooleanField("保存后发布（发布后职工可见）")


class MenuView(OperatorScopedView):
    """Menus are written through blueprints.canteen.menus, as in the mini-program: 新建 saves
    a slot and day's menu (creating or replacing it: a published menu until the slot's
    cut-off), 发布 publishes a draft; never a generic edit that would skip those rules."""

    allow_edit = False
    write_endpoints = WRITE_ENDPOINTS | {"publish_view"}
    column_list = ["day", "slot_id", "status", "dishes", "note", "published_at"]
    column_labels = {"day": "日期", "slot_id": "餐次", "status": "状态", "dishes": "菜品", "note": "备注",
                     "published_at": "发布时间"}
    column_formatters = {"slot_id": _slot_name, "status": lambda v, c, m, n: MENU_STATUSES.get(m.status, m.status),
                         "dishes": lambda v, c, m, n: "、".join(i.dish.name for i in m.items),
                         "published_at": lambda v, c, m, n: format_local(m.published_at)}
    column_default_sort = ("day", True)
    column_filters = [DateBetweenFilter(Menu.day, "日期"), FilterEqual(Menu.status, "状态",
                                                                      options=list(MENU_STATUSES.items()))]
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-pencil", ".create_view", title="修改菜品",
                                                      id_arg="menu"),
                                EndpointLinkRowAction("fa fa-bullhorn", ".publish_view", title="发布")]

    def canteen_column(self):
        return select(MealSlot.canteen_id).where(MealSlot.id == Menu.slot_id).scalar_subquery()

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        form = MenuForm()
        form.slot_id.choices, form.dish_ids.choices = self._slot_choices(), self._dish_choices()
        existing = self.get_one(request.args.get("menu")) if request.args.get("menu") else None
        if existing is not None and not form.is_submitted():
            form.slot_id.data, form.day.data, form.note.data = existing.slot_id, existing.day, existing.note
            form.dish_ids.data = [i.dish_id for i in existing.items]

        def save():
            menu = service.save_menu(self.principal, form.slot_id.data, form.day.data, form.dish_ids.data or [],
                                     form.note.data or "")
            if form.publish.data:
                service.publish_menu(self.principal, menu.id)

        return self.action_page(form, "保存菜单", "同一餐次同一天只有一份菜单：再次保存即替换菜品；"
                                "已发布的菜单在预订截止前可以修改。", save, "菜单已保存", submit_label="保存")

    @expose("/publish/", methods=("GET", "POST"))
    def publish_view(self):
        menu = self.get_one(request.args.get("id"))
        if menu is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        intro = (f"{_slot_name(self, None, menu, None)} {menu.day:%Y-%m-%d}："
                 f"{'、'.join(i.dish.name for i in menu.items) or '（无菜品）'}。发布后职工即可看到并据此预订。")
        return self.action_page(ConfirmForm(), f"发布菜单 {menu.id}", intro,
                                lambda: service.publish_menu(self.principal, menu.id), "菜单已发布",
                                submit_label="发布")


class SpecialView(OperatorScopedView):
    audit_name = "special"
    audit_value_fields = ("slot_id", "day", "kind", "name", "price_cents", "portions_total", "is_active")
    column_list = ["day", "slot_id", "kind", "name", "price_cents", "portions_total", "portions_left", "opens_at",
                   "is_active"]
    column_labels = {"day": "日期", "slot_id": "餐次", "kind": "类型", "name": "名称", "dish_id": "菜品",
                     "price_cents": "价格", "portions_total": "总份数", "portions_left": "剩余份数",
                     "opens_at": "开抢时间", "is_active": "在售"}
    column_formatters = {"slot_id": _slot_name, "kind": lambda v, c, m, n: SPECIAL_KINDS.get(m.kind, m.kind),
                         "price_cents": _price}
    column_default_sort = ("day", True)
    form_columns = ["slot_id", "day", "kind", "name", "dish_id", "price_cents", "portions_total", "opens_at",
                    "is_active"]
    form_overrides = {"slot_id": SelectField, "dish_id": SelectField}
    form_args = {"slot_id": {"coerce": int, "validators": [DataRequired()], "label": "餐次"},
                 "dish_id": {"coerce": _optional_int, "validators": [Optional()], "label": "菜品"},
                 "price_cents": {"label": "价格（分，空为免费）"},
                 "opens_at": {"label": "开抢时间（北京时间）"}}
    form_choices = {"kind": list(SPECIAL_KINDS.items())}

    def canteen_column(self):
        return select(MealSlot.canteen_id).where(MealSlot.id == Special.slot_id).scalar_subquery()

    def _prepare(self, form):
        form.slot_id.choices = self._slot_choices()
        form.dish_id.choices = [("", "（无）")] + self._dish_choices()
        return form

    def create_form(self, obj=None):
        return self._prepare(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._prepare(super().edit_form(obj))

    def validate_change(self, form, model, is_created: bool) -> None:
        slot = db.session.get(MealSlot, model.slot_id)
        self._check_canteen(slot.canteen_id if slot else None)
        if model.opens_at is not None and model.opens_at.tzinfo is None:
            model.opens_at = model.opens_at.replace(tzinfo=SHANGHAI)
        if model.opens_at is None or model.opens_at >= service.rules.cutoff_at(slot, model.day):
            raise AppError("SPECIAL_OPENS_AT_INVALID")
        if model.dish_id is not None:
            dish = db.session.get(Dish, model.dish_id)
            if dish is None or dish.canteen_id != slot.canteen_id:
                raise AppError("SPECIAL_DISH_INVALID")
        if model.portions_total is None or model.portions_total < 1:
            raise AppError("VALIDATION_ERROR", "总份数须大于 0")
        if is_created:
            model.portions_left = model.portions_total

    def update_model(self, form, model):
        """Other fields through the ModelView; portions_total through the service's one
        conditional UPDATE (up at any time, down only while nobody booked)."""
        old_total, new_total = model.portions_total, form.portions_total.data
        form.portions_total.data = old_total
        if not super().update_model(form, model):
            return False
        if new_total is None or new_total == old_total:
            return True
        if service.change_portions(model.id, new_total) is None:
            db.session.rollback()
            form.portions_total.data = new_total
            flash(AppError("SPECIAL_PORTIONS_DECREASE").message, "error")
            return False
        audit.record("special.update", "special", model.id, {"via": "admin", "portions_total": [old_total, new_total]},
                     actor=self.principal)
        db.session.commit()
        return True


def _rating_booking(model) -> MealBooking | None:
    return db.session.get(MealBooking, model.booking_id)


def _rating_day(view, context, model, name):
    booking = _rating_booking(model)
    return f"{booking.day:%Y-%m-%d} {service.weekday_text(booking.day)}" if booking else ""


def _rating_meal(view, context, model, name):
    booking = _rating_booking(model)
    return MEALS.get(booking.meal, booking.meal) if booking else ""


def _rating_canteen(view, context, model, name):
    booking = _rating_booking(model)
    canteen = db.session.get(Canteen, booking.canteen_id) if booking else None
    return canteen.name if canteen else ""


def _rating_dish(view, context, model, name):
    dish = db.session.get(Dish, model.dish_id)
    return dish.name if dish else ""


def _rater(view, context, model, name):
    principal = view.principal
    if principal is None or not principal.reads_everything:
        return ""  # never the rater to a canteen's operator (the column is not shown to them either)
    user = db.session.get(User, model.user_id)
    return user.name if user else ""


class DishRatingView(OperatorScopedView):
    """菜品评价, read-only: every canteen for administrators and auditors (with the rater's
    name); a canteen manager only its company's canteens, with nothing about the rater (no
    column, no filter, no search, no sort by rater)."""

    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True
    column_default_sort = ("id", True)
    column_list = ["canteen", "day", "meal", "dish", "stars", "created_at", "updated_at", "rater"]
    column_details_list = column_list
    column_labels = {"canteen": "食堂", "day": "就餐日期", "meal": "餐次", "dish": "菜品", "stars": "星级",
                     "created_at": "评价时间", "updated_at": "最后修改", "rater": "评价人"}
    column_formatters = {"canteen": _rating_canteen, "day": _rating_day, "meal": _rating_meal, "dish": _rating_dish,
                         "stars": lambda v, c, m, n: "★" * m.stars, "rater": _rater}
    column_formatters_detail = column_formatters
    column_sortable_list = ["stars", "created_at"]
    column_filters = [FilterEqual(DishRating.stars, "星级", options=[(str(n), f"{n} 星") for n in range(1, 6)]),
                      FilterEqual(DishRating.dish_id, "菜品编号")]

    def can_write(self, principal) -> bool:
        return False

    def canteen_column(self):
        return select(Dish.canteen_id).where(Dish.id == DishRating.dish_id).scalar_subquery()

    def render(self, template: str, **kwargs):
        """The rater's column only for administrators and auditors."""
        principal = self.principal
        if principal is None or not principal.reads_everything:
            for key in ("list_columns", "details_columns"):
                if key in kwargs:
                    kwargs[key] = [c for c in kwargs[key] if c[0] != "rater"]
        return super().render(template, **kwargs)


def add_views(admin) -> None:
    admin.add_view(CanteenView(Canteen, name="食堂", category=CATEGORY, endpoint="canteen", url="canteens"))
    admin.add_view(MealSlotView(MealSlot, name="餐次与报餐规则", category=CATEGORY, endpoint="canteen_slot",
                                url="canteen-slots"))
    admin.add_view(DishView(Dish, name="菜品", category=CATEGORY, endpoint="canteen_dish", url="canteen-dishes"))
    admin.add_view(MenuView(Menu, name="菜单", category=CATEGORY, endpoint="canteen_menu", url="canteen-menus"))
    admin.add_view(SpecialView(Special, name="特色菜", category=CATEGORY, endpoint="canteen_special",
                               url="canteen-specials"))
    admin.add_view(DishRatingView(DishRating, name="菜品评价", category=CATEGORY, endpoint="canteen_dish_rating",
                                  url="canteen-dish-ratings"))
