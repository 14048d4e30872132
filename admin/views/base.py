"""Building blocks of every panel view: sign-in and role checks enforced on the server for
each endpoint, read-only mode, CSRF forms, Chinese labels, local times, audit entries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import flash, has_request_context, make_response, redirect, request, url_for
from flask_admin.contrib.sqla import ModelView, tools
from flask_admin.contrib.sqla.filters import (
    DateTimeBetweenFilter,
    DateTimeGreaterFilter,
    DateTimeSmallerFilter,
    FilterLike,
)
from flask_admin.contrib.sqla.typefmt import DEFAULT_FORMATTERS
from flask_admin.helpers import get_redirect_target
from flask_admin.menu import MenuLink
from flask_admin.model.typefmt import DETAIL_FORMATTERS
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from admin.forms import LogoutForm, PanelSecureForm
from admin.security import current_panel_principal
from app import audit
from app.auth import Principal
from app.errors import AppError
from app.extensions import db
from app.timeutil import SHANGHAI, local

MSG_FORBIDDEN = "没有权限访问该页面"
MSG_NOT_FOUND = "记录不存在或无权查看"
MSG_INTEGRITY = {
    "23505": "保存失败：与已有记录重复（例如编号或名称已存在）",  # unique_violation
    "23503": "操作失败：该记录仍被其他数据引用，或引用的数据不存在",  # foreign_key_violation
    "23001": "操作失败：该记录仍被其他数据引用",  # restrict_violation (ON DELETE RESTRICT)
}
MSG_INTEGRITY_OTHER = "保存失败：数据不符合约束条件"

# Endpoints of Flask-Admin's ModelView that change data.
WRITE_ENDPOINTS = frozenset({"create_view", "edit_view", "delete_view", "action_view", "ajax_update"})


# --- formatting ----------------------------------------------------------------------------

def format_local(value: datetime | None) -> str:
    """A stored UTC time as Asia/Shanghai wall-clock time."""
    if value is None:
        return ""
    if value.tzinfo is None:  # never stored so; shown as is rather than guessed
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return local(value).strftime("%Y-%m-%d %H:%M:%S")


def _datetime_formatter(view, value, name):
    return format_local(value)


def _date_formatter(view, value, name):
    return value.strftime("%Y-%m-%d")


LIST_FORMATTERS = {datetime: _datetime_formatter, date: _date_formatter, **DEFAULT_FORMATTERS}
DETAIL_FORMATTERS_LOCAL = {datetime: _datetime_formatter, date: _date_formatter, **DETAIL_FORMATTERS}


class _LocalDateTimeMixin:
    """Datetime filters read the entered time as Asia/Shanghai (columns are timestamptz)."""

    def clean(self, value):
        cleaned = super().clean(value)
        if isinstance(cleaned, list):
            return [item.replace(tzinfo=SHANGHAI) for item in cleaned]
        return cleaned.replace(tzinfo=SHANGHAI)


class LocalDateTimeGreaterFilter(_LocalDateTimeMixin, DateTimeGreaterFilter):
    pass


class LocalDateTimeSmallerFilter(_LocalDateTimeMixin, DateTimeSmallerFilter):
    pass


class LocalDateTimeBetweenFilter(_LocalDateTimeMixin, DateTimeBetweenFilter):
    pass


def local_datetime_filters(column, label: str) -> list:
    return [LocalDateTimeGreaterFilter(column, label), LocalDateTimeSmallerFilter(column, label),
            LocalDateTimeBetweenFilter(column, label)]


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "id"):
        return value.id
    return str(value)


# --- access --------------------------------------------------------------------------------

class PanelViewMixin:
    """Sign-in and role checks on every endpoint of a view (not only in the menu)."""

    #: roles that may open the view (any of them)
    read_roles: tuple[str, ...] = ("admin", "auditor")
    #: roles that may use the view's write endpoints
    write_roles: tuple[str, ...] = ("admin",)
    #: endpoint (method) names that change data; refused for read-only users
    write_endpoints: frozenset[str] = frozenset()

    @property
    def principal(self) -> Principal | None:
        return current_panel_principal() if has_request_context() else None

    def can_read(self, principal: Principal) -> bool:
        return principal.has_any(*self.read_roles)

    def can_write(self, principal: Principal) -> bool:
        return self.can_read(principal) and principal.has_any(*self.write_roles)

    def writable(self) -> bool:
        principal = self.principal
        return principal is not None and self.can_write(principal)

    def is_accessible(self) -> bool:
        principal = self.principal
        return principal is not None and self.can_read(principal)

    def _handle_view(self, name: str, **kwargs):
        principal = self.principal
        if principal is None:
            return login_redirect()
        if not self.can_read(principal):
            return self.error_page(403, "没有权限", MSG_FORBIDDEN)
        if name in self.write_endpoints and not self.can_write(principal):
            return self.error_page(403, "只读账号", "当前账号为只读权限，不能新建、修改或删除数据")
        return None

    def inaccessible_callback(self, name, **kwargs):
        return self._handle_view(name, **kwargs) or self.error_page(403, "没有权限", MSG_FORBIDDEN)

    def error_page(self, status: int, title: str, message: str):
        return make_response(self.render("admin_panel/message.html", title=title, message=message), status)

    def action_page(self, form, title: str, intro: str, run: Callable[[], Any], done: str,
                    submit_label: str | None = None):
        """A page that confirms one action on a record (start a follow-up, reject a check-in,
        lift a penalty): GET shows `form`; a valid POST calls `run()` (a service function) and
        commits, then returns to the list with `done` flashed; a refusal (AppError, e.g. the
        record moved on meanwhile) is rolled back and shown with its status; an invalid form is 400."""
        return_url = get_redirect_target() or self.get_url(".index_view")
        status = 200
        if form.validate_on_submit():
            try:
                run()
                db.session.commit()
            except AppError as exc:
                db.session.rollback()
                flash(exc.message, "error")
                status = exc.status
            else:
                flash(done, "success")
                return redirect(return_url)
        elif request.method == "POST":
            status = 400
        return self.render("admin_panel/form.html", title=title, form=form, intro=intro,
                           submit_label=submit_label or title, cancel_url=return_url), status

    def render(self, template: str, **kwargs):
        kwargs.setdefault("panel_user", self.principal)
        kwargs.setdefault("logout_form", LogoutForm())
        return super().render(template, **kwargs)


def login_redirect():
    """Anonymous (or signed-out) request: to the sign-in page, coming back afterwards."""
    target = request.full_path if request.method == "GET" else request.path
    return redirect(url_for("admin.login", next=target.rstrip("?")))


class PanelMenuLink(MenuLink):
    """A menu link shown only to signed-in panel users."""

    def is_accessible(self) -> bool:
        return current_panel_principal() is not None


# --- model views ---------------------------------------------------------------------------

class PanelModelView(PanelViewMixin, ModelView):
    """ModelView with CSRF forms, server-side permissions, Chinese UI and audit entries.

    `allow_create` / `allow_edit` / `allow_delete` say what the view offers at all; the
    `can_*` flags Flask-Admin reads are those AND the signed-in user's write permission, so
    a read-only auditor sees no buttons and is refused by the endpoints as well."""

    form_base_class = PanelSecureForm
    write_endpoints = WRITE_ENDPOINTS
    page_size = 50
    can_set_page_size = False
    can_export = False
    can_view_details = True
    column_display_pk = False
    column_type_formatters = LIST_FORMATTERS
    column_type_formatters_detail = DETAIL_FORMATTERS_LOCAL
    named_filter_urls = False  # True would strip the Chinese filter names and make URLs collide

    allow_create = True
    allow_edit = True
    allow_delete = False

    #: audit target type (e.g. "department"); actions are "<name>.create/update/delete"
    audit_name: str | None = None
    #: columns whose new values go into the audit details (never personal data)
    audit_value_fields: tuple[str, ...] = ()

    def __init__(self, model, session=None, **kwargs):
        super().__init__(model, session or db, **kwargs)

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return self.allow_create and self.writable()

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self.allow_edit and self.writable()

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return self.allow_delete and self.writable()

    def is_action_allowed(self, name: str) -> bool:
        return self.writable() and super().is_action_allowed(name)

    def get_list_row_actions(self):
        actions = super().get_list_row_actions()
        if not self.writable():
            # Extra row actions (roles, disable...) are write actions; auditors see none.
            actions = [a for a in actions if a not in (self.column_extra_row_actions or [])]
        return actions

    # Errors from services (AppError) and constraints are shown in Chinese.
    def handle_view_exception(self, exc: Exception) -> bool:
        if isinstance(exc, AppError):
            flash(exc.message, "error")
            return True
        if isinstance(exc, IntegrityError):
            flash(MSG_INTEGRITY.get(getattr(exc.orig, "sqlstate", None), MSG_INTEGRITY_OTHER), "error")
            return True
        return super().handle_view_exception(exc)

    # Audit: written in the same transaction as the change it records, so an entry exists
    # exactly when the change was committed (after_model_change runs after the commit).
    def validate_change(self, form, model, is_created: bool) -> None:
        """Business checks before saving; raise AppError to refuse."""

    def on_model_change(self, form, model, is_created: bool) -> None:
        self.validate_change(form, model, is_created)
        state = sa_inspect(model)
        changed = sorted(attr.key for attr in state.attrs if attr.history.has_changes())
        if not changed and not is_created:
            return
        values = {key: _jsonable(getattr(model, key)) for key in changed if key in self.audit_value_fields}
        db.session.flush()
        details: dict[str, Any] = {"via": "admin", "fields": changed}
        if values:
            details["values"] = values
        audit.record(f"{self.audit_name}.{'create' if is_created else 'update'}", self.audit_name,
                     model.id, details, actor=self.principal)

    def on_model_delete(self, model) -> None:
        values = {key: _jsonable(getattr(model, key)) for key in self.audit_value_fields}
        audit.record(f"{self.audit_name}.delete", self.audit_name, model.id, {"via": "admin", "values": values},
                     actor=self.principal)

    # Scoped views override `scope`: list, count, one record, actions and writes all use it.
    def scope(self, query):
        return query

    def get_query(self):
        return self.scope(super().get_query())

    def get_count_query(self):
        return self.scope(super().get_count_query())

    def get_one(self, id):
        try:
            pk = int(id)
        except (TypeError, ValueError):
            return None
        return self.get_query().filter(self.model.id == pk).one_or_none()


class ParentNameFilter(FilterLike):
    """上级 包含: rows whose parent's name contains the text, for a model with `parent_id` and
    `name` pointing at itself. (A "parent.name" path filter on a self-referential relation
    compares the row's own name instead.)"""

    def apply(self, query, value, alias=None):
        model = self.column.class_
        parent = aliased(model)
        names = select(parent.id).where(parent.name.ilike(tools.parse_like_term(value)))
        return query.filter(model.parent_id.in_(names))
