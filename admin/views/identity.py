"""Administrator views: departments, contractor companies, users and their roles.

Roles and disabling never go through the generic edit form: they call
`blueprints.identity.service.set_roles` / `disable_user`, which revoke the user's tokens,
end their panel sessions (auth_epoch) and write the audit log."""

from __future__ import annotations

from flask import flash, redirect, request
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, FilterEqual, FilterLike
from flask_admin.helpers import get_redirect_target
from flask_admin.model.template import EndpointLinkRowAction
from sqlalchemy import select
from wtforms.validators import Regexp

from admin.forms import ConfirmForm, DisableForm, RolesForm
from admin.views.base import MSG_NOT_FOUND, WRITE_ENDPOINTS, PanelModelView, ParentNameFilter
from app.errors import AppError
from app.extensions import db
from blueprints.identity import service
from models import COMPANY_KINDS, ROLES, Company, Department, User

USER_KIND_LABELS = {"staff": "机关干部", "contractor": "服务单位人员", "visitor": "访客"}
COMPANY_KIND_CHOICES = [(kind, label) for kind, (label, _, _) in COMPANY_KINDS.items()]


def role_labels(user: User) -> str:
    return "、".join(str(grant) for grant in sorted(user.roles, key=lambda g: (g.role, g.scope_kind,
                                                                              g.scope_id or 0)))


def phone_formatter(view, context, model, name):
    return service.masked_phone(model) or ""


def roles_formatter(view, context, model, name):
    return role_labels(model)


# --- departments and companies ---------------------------------------------------------

class DepartmentView(PanelModelView):
    audit_name = "department"
    audit_value_fields = ("code", "name", "parent", "sort_order")
    allow_delete = True  # the database refuses while users or sub-departments refer to it

    column_list = ["code", "name", "parent", "sort_order", "created_at"]
    column_labels = {"code": "编号", "name": "名称", "parent": "上级部门", "sort_order": "排序",
                     "created_at": "创建时间", "parent.name": "上级部门"}
    column_sortable_list = ["code", "name", "sort_order", "created_at"]
    column_default_sort = [("sort_order", False), ("id", False)]
    column_searchable_list = ["code", "name"]
    column_filters = [FilterLike(Department.name, "名称"), ParentNameFilter(Department.name, "上级部门")]
    form_columns = ["code", "name", "parent", "sort_order"]
    form_args = {"code": {"validators": [Regexp(r"^[A-Za-z0-9_-]{1,32}$",
                                                message="编号只能由字母、数字、下划线和连字符组成，最长 32 位")]}}

    def validate_change(self, form, model, is_created):
        service.check_department_parent(model, model.parent.id if model.parent is not None else None)


class CompanyView(PanelModelView):
    audit_name = "company"
    audit_value_fields = ("name", "kind", "is_active")

    column_list = ["name", "kind", "contact_name", "is_active", "created_at"]
    column_labels = {"name": "单位名称", "kind": "类型", "contact_name": "联系人", "is_active": "启用",
                     "created_at": "创建时间"}
    column_choices = {"kind": COMPANY_KIND_CHOICES}
    column_sortable_list = ["name", "kind", "created_at"]
    column_default_sort = ("id", False)
    column_searchable_list = ["name", "contact_name"]
    column_filters = [FilterEqual(Company.kind, "类型", options=COMPANY_KIND_CHOICES),
                      BooleanEqualFilter(Company.is_active, "启用")]
    form_columns = ["name", "kind", "contact_name", "is_active"]
    form_choices = {"kind": COMPANY_KIND_CHOICES}


# --- users ---------------------------------------------------------------------------------

class UserDisableMixin:
    """The "停用" row action: a confirmation page with a reason, then `disable_user`."""

    def _return_url(self) -> str:
        return get_redirect_target() or self.get_url(".index_view")

    @expose("/disable/", methods=("GET", "POST"))
    def disable_view(self):
        return_url = self._return_url()
        user = self.get_one(request.args.get("id"))
        if user is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        principal = self.principal
        if not user.is_active:
            if principal.is_admin and hasattr(self, "enable_view"):
                return self.render("admin_panel/form.html", title=f"启用账号：{user}", form=ConfirmForm(),
                                   intro="该账号已停用。启用后本人需重新登录。", submit_label="启用",
                                   action=self.get_url(".enable_view", id=user.id, url=return_url),
                                   cancel_url=return_url)
            flash("该账号已停用", "info")
            return redirect(return_url)
        if user.id == principal.user_id or not service.can_disable(principal, user):
            return self.error_page(403, "不能停用", "不能停用该账号（不能停用自己，只能停用本单位员工）")
        form = DisableForm()
        if form.validate_on_submit():
            service.disable_user(principal, user, form.reason.data.strip())
            db.session.commit()
            flash(f"已停用 {user.name}，其登录令牌已全部失效", "success")
            return redirect(return_url)
        return self.render("admin_panel/form.html", title=f"停用账号：{user}", form=form, danger=True,
                           intro="停用后该账号立即不能登录，已签发的令牌全部失效，其未来的预约和订单将被取消。",
                           submit_label="停用", cancel_url=return_url), (400 if request.method == "POST" else 200)


def _encode_grant(role: str, scope_kind: str, scope_id: int | None) -> str:
    return f"{role}:{scope_kind}:{'' if scope_id is None else scope_id}"


def _decode_grant(value: str) -> dict:
    role, scope_kind, scope_id = value.split(":")
    return {"role": role, "scope_kind": scope_kind, "scope_id": int(scope_id) if scope_id else None}


def grant_choices(user: User) -> list[tuple[str, str]]:
    """Global roles, the roles of each contractor company (a contractor: only their own
    company's), and whatever the user holds. The service validates again on saving."""
    choices: dict[str, str] = {}
    for role, (label, scopes) in ROLES.items():
        if "global" in scopes:
            choices[_encode_grant(role, "global", None)] = label
    companies = select(Company).order_by(Company.id)
    if user.kind == "contractor":
        companies = companies.where(Company.id == user.company_id)
    for company in db.session.execute(companies).scalars():
        for role in COMPANY_KINDS[company.kind][1]:
            choices[_encode_grant(role, "company", company.id)] = f"{ROLES[role][0]} — {company.name}"
    for grant in user.roles:
        choices.setdefault(_encode_grant(grant.role, grant.scope_kind, grant.scope_id), str(grant))
    return list(choices.items())


class UserView(UserDisableMixin, PanelModelView):
    audit_name = "user"
    audit_value_fields = ("department",)  # names and numbers are personal data: field names only
    allow_create = False  # staff come from the roster, contractors through invitations
    write_endpoints = WRITE_ENDPOINTS | {"roles_view", "disable_view", "enable_view"}

    column_list = ["employee_no", "name", "kind", "department", "company", "phone", "roles", "is_active",
                   "created_at"]
    column_details_list = ["employee_no", "name", "kind", "department", "company", "phone", "roles",
                           "is_active", "disabled_at", "from_roster", "failed_logins", "locked_until",
                           "created_at", "updated_at"]
    column_labels = {"employee_no": "工号", "name": "姓名", "kind": "类型", "department": "部门",
                     "company": "服务单位", "phone": "手机号", "roles": "角色", "is_active": "启用",
                     "disabled_at": "停用时间", "from_roster": "来自花名册", "failed_logins": "连续登录失败",
                     "locked_until": "锁定至", "created_at": "创建时间", "updated_at": "更新时间"}
    column_choices = {"kind": list(USER_KIND_LABELS.items())}
    column_formatters = {"phone": phone_formatter, "roles": roles_formatter}
    column_sortable_list = ["employee_no", "name", "created_at"]
    column_default_sort = ("id", False)
    column_searchable_list = ["name", "employee_no"]
    column_filters = [FilterEqual(User.kind, "类型", options=list(USER_KIND_LABELS.items())),
                      BooleanEqualFilter(User.is_active, "启用"),
                      FilterLike("department.name", "部门"),
                      FilterLike("company.name", "服务单位"),
                      BooleanEqualFilter(User.from_roster, "来自花名册")]
    # Never phone_enc / phone_bidx / password_hash / auth_epoch: only these can be edited.
    form_columns = ["name", "employee_no", "department"]
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-users", ".roles_view", title="设置角色"),
                                EndpointLinkRowAction("fa fa-ban", ".disable_view", title="停用 / 启用")]

    @expose("/roles/", methods=("GET", "POST"))
    def roles_view(self):
        return_url = self._return_url()
        user = self.get_one(request.args.get("id"))
        if user is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        principal = self.principal
        form = RolesForm()
        form.grants.choices = grant_choices(user)
        if request.method == "GET":
            form.grants.data = [_encode_grant(g.role, g.scope_kind, g.scope_id) for g in user.roles]
        status = 200
        if form.validate_on_submit():
            grants = [_decode_grant(value) for value in form.grants.data]
            try:
                service.set_roles(principal, user, grants)
                db.session.commit()
            except AppError as exc:
                db.session.rollback()
                form.grants.errors = [exc.message]
                status = 400
            else:
                flash(f"已更新 {user.name} 的角色；其原有登录已失效", "success")
                return redirect(return_url)
        elif request.method == "POST":
            status = 400
        return self.render("admin_panel/form.html", title=f"设置角色：{user}", form=form, submit_label="保存角色",
                           intro="保存后该用户的令牌和管理后台登录立即失效，需重新登录。",
                           cancel_url=return_url), status

    @expose("/enable/", methods=("POST",))
    def enable_view(self):
        return_url = self._return_url()
        user = self.get_one(request.args.get("id"))
        if user is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        form = ConfirmForm()
        if not form.validate_on_submit():
            return self.error_page(400, "请求无效", "页面已过期或缺少安全校验信息，请刷新页面后重试")
        service.enable_user(self.principal, user)
        db.session.commit()
        flash(f"已启用 {user.name}", "success")
        return redirect(return_url)

