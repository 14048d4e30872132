"""Home page, sign-in, sign-out and password change of the panel (/admin, /admin/login,
/admin/logout, /admin/password)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_admin.helpers import is_safe_url

from admin.forms import LoginForm, LogoutForm, PasswordForm
from admin.security import (
    attempt_login,
    change_password,
    current_panel_principal,
    current_panel_user,
    locked_message,
    sign_in,
    sign_out,
)
from admin.views.base import PanelViewMixin
from app import audit
from app.extensions import db
from models import ROLES

MSG_CSRF = "页面已过期或缺少安全校验信息，请刷新页面后重试"
PUBLIC_ENDPOINTS = frozenset({"login", "logout"})


def _csrf_failed(form) -> bool:
    return bool(getattr(form, "csrf_token", None) is not None and form.csrf_token.errors)


class PanelIndexView(PanelViewMixin, AdminIndexView):
    read_roles = ("admin", "auditor", "canteen_manager", "property_dispatcher")
    write_roles = read_roles

    def __init__(self):
        super().__init__(name="首页", endpoint="admin", url="/admin", template="admin_panel/index.html")

    def _handle_view(self, name: str, **kwargs):
        if name in PUBLIC_ENDPOINTS:
            return None
        return super()._handle_view(name, **kwargs)

    def _next_url(self) -> str:
        target = request.values.get("next", "")
        if target and is_safe_url(target) and target.startswith("/admin") and not target.startswith("/admin/log"):
            return target
        return url_for("admin.index")

    @expose("/")
    def index(self):
        principal = current_panel_principal()
        role_labels = [ROLES.get(role, (role,))[0] for role in sorted(principal.roles)]
        links = [(f"{view.category} · {view.name}" if view.category else view.name,
                  url_for(f"{view.endpoint}.{view._default_view}"))
                 for view in self.admin._views if view is not self and view.is_accessible()]
        return self.render(self._template, role_labels=role_labels, links=links)

    @expose("/login", methods=("GET", "POST"))
    def login(self):
        next_url = self._next_url()
        if request.method == "GET" and current_panel_principal() is not None:
            return redirect(next_url)
        form = LoginForm()
        error, status = None, 200
        if form.validate_on_submit():
            result = attempt_login(form.employee_no.data, form.password.data)
            if result.ok:
                sign_in(result.user)
                flash(f"欢迎，{result.user.name}", "success")
                return redirect(next_url)
            error, status = result.error, 401
        elif request.method == "POST":
            error, status = (MSG_CSRF if _csrf_failed(form) else None), 400
        form.password.data = ""
        return self.render("admin_panel/login.html", form=form, error=error, next_url=next_url), status

    @expose("/logout", methods=("GET", "POST"))
    def logout(self):
        principal = current_panel_principal()
        if request.method == "GET":
            if principal is None:
                return redirect(url_for("admin.login"))
            return self.render("admin_panel/form.html", title="退出登录", form=LogoutForm(),
                               intro="确定退出管理后台吗？", submit_label="退出登录",
                               cancel_url=url_for("admin.index"))
        form = LogoutForm()
        if not form.validate_on_submit():
            return self.error_page(400, "请求无效", MSG_CSRF)
        if principal is not None:
            audit.record("admin.logout", "user", principal.user_id, actor=principal)
            db.session.commit()
        sign_out()
        flash("已退出登录", "info")
        return redirect(url_for("admin.login"))

    @expose("/password", methods=("GET", "POST"))
    def password(self):
        user = current_panel_user()
        form = PasswordForm()
        status = 200
        if form.validate_on_submit():
            problems, locked_until = change_password(user, form.current.data, form.new.data)
            if locked_until is not None:
                sign_out(locked_message(locked_until))
                return redirect(url_for("admin.login"))
            if not problems:
                flash("密码已修改；在其他地方的登录已失效", "success")
                return redirect(url_for("admin.index"))
            for field, messages in problems.items():
                form[field].errors = list(form[field].errors) + messages
            status = 400
        elif request.method == "POST":
            if _csrf_failed(form):
                return self.error_page(400, "请求无效", MSG_CSRF)
            status = 400
        return self.render("admin_panel/form.html", title="修改密码", form=form, submit_label="修改密码",
                           cancel_url=url_for("admin.index")), status
