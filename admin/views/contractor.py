"""Views for contractor managers (canteen_manager, property_dispatcher): their own company's
people and invitation codes, and nothing else.

Every query goes through `scope` (list, count, one record by id, actions), so an id of
another company's record is "not found" here; writes go through the identity service."""

from __future__ import annotations

from flask import current_app, flash, make_response, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import BooleanEqualFilter
from flask_admin.model.template import EndpointLinkRowAction
from sqlalchemy import select

from admin.forms import InviteForm
from admin.security import MANAGER_ROLES, managed_company_ids
from admin.views.base import WRITE_ENDPOINTS, PanelModelView, format_local
from admin.views.identity import UserDisableMixin, phone_formatter, roles_formatter
from app.errors import AppError
from app.extensions import db
from app.timeutil import utcnow
from blueprints.identity import service
from models import COMPANY_KINDS, ROLES, Company, InviteCode, User


class ContractorScopedView(PanelModelView):
    read_roles = write_roles = MANAGER_ROLES
    allow_create = allow_edit = allow_delete = False

    def can_read(self, principal) -> bool:
        return bool(managed_company_ids(principal))

    def managed_ids(self) -> list[int]:
        principal = self.principal
        return managed_company_ids(principal) if principal is not None else []


class CompanyStaffView(UserDisableMixin, ContractorScopedView):
    """本单位人员: the contractor staff of the companies the user manages."""

    write_endpoints = WRITE_ENDPOINTS | {"disable_view"}
    column_list = ["name", "employee_no", "company", "roles", "phone", "is_active", "created_at"]
    column_details_list = ["name", "employee_no", "company", "roles", "phone", "is_active", "disabled_at",
                           "created_at"]
    column_labels = {"name": "姓名", "employee_no": "工号", "company": "单位", "roles": "角色", "phone": "手机号",
                     "is_active": "启用", "disabled_at": "停用时间", "created_at": "加入时间"}
    column_formatters = {"phone": phone_formatter, "roles": roles_formatter}
    column_sortable_list = ["name", "created_at"]
    column_default_sort = ("id", False)
    column_searchable_list = ["name", "employee_no"]
    column_filters = [BooleanEqualFilter(User.is_active, "启用")]
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-ban", ".disable_view", title="停用")]

    def scope(self, query):
        return query.filter(User.kind == "contractor", User.company_id.in_(self.managed_ids()))


def _invite_status(invite: InviteCode) -> str:
    if invite.used_at is not None:
        return "已使用"
    if invite.revoked_at is not None:
        return "已作废"
    if invite.expires_at <= utcnow():
        return "已过期"
    return "未使用"


class InviteCodeView(ContractorScopedView):
    """邀请码: list and create one-time codes for the user's own company. The code itself is
    shown once, right after it is created; only its hash is stored."""

    allow_create = True
    write_endpoints = WRITE_ENDPOINTS
    column_list = ["company", "role", "note", "status", "created_at", "expires_at", "used_at"]
    column_details_list = ["company", "role", "note", "status", "created_at", "expires_at", "used_at",
                           "revoked_at"]
    column_labels = {"company": "单位", "role": "角色", "note": "备注", "status": "状态", "created_at": "生成时间",
                     "expires_at": "有效期至", "used_at": "使用时间", "revoked_at": "作废时间"}
    column_choices = {"role": [(role, label) for role, (label, _) in ROLES.items()]}
    column_formatters = {"status": lambda view, context, model, name: _invite_status(model)}
    column_sortable_list = ["created_at", "expires_at"]
    column_default_sort = ("id", True)
    column_searchable_list = ["note"]

    def scope(self, query):
        return query.filter(InviteCode.company_id.in_(self.managed_ids()))

    def _targets(self) -> list[tuple[str, str]]:
        companies = db.session.execute(select(Company).where(Company.id.in_(self.managed_ids()))
                                       .order_by(Company.id)).scalars()
        return [(f"{company.id}:{role}", f"{company.name} — {ROLES[role][0]}")
                for company in companies for role in COMPANY_KINDS[company.kind][1]]

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        return_url = self.get_url(".index_view")
        form = InviteForm()
        form.target.choices = self._targets()
        status = 200
        if form.validate_on_submit():
            company_id, role = form.target.data.split(":", 1)
            principal = self.principal
            try:
                company = service.get_managed_company(principal, int(company_id))
                code, invite = service.create_invite(principal, company, role, (form.note.data or "").strip() or None,
                                                     current_app.config["INVITE_TTL"])
                db.session.commit()
            except AppError as exc:
                db.session.rollback()
                form.target.errors = [exc.message]
                status = 400
            else:
                response = make_response(self.render(
                    "admin_panel/invite_created.html", code=code, invite=invite, company=company,
                    role_label=ROLES[invite.role][0], expires_at=format_local(invite.expires_at),
                    return_url=return_url))
                response.headers["Cache-Control"] = "no-store"
                return response
        elif request.method == "POST":
            status = 400
        return self.render("admin_panel/form.html", title="生成邀请码", form=form, submit_label="生成邀请码",
                           intro="邀请码只显示一次，请当面或通过可靠渠道交给新员工，由其在小程序中填写。",
                           cancel_url=return_url), status

    @action("revoke", "作废", "确定作废选中的邀请码吗？作废后不能再使用。")
    def action_revoke(self, ids):
        principal = self.principal
        invites = self.get_query().filter(InviteCode.id.in_([int(i) for i in ids if str(i).isdigit()])).all()
        pending = [invite for invite in invites if invite.used_at is None and invite.revoked_at is None]
        for invite in pending:
            service.revoke_invite(principal, invite)
        db.session.commit()
        flash(f"已作废 {len(pending)} 个邀请码", "success")
