"""积分 in the panel: the earning rules (administrators edit the numbers; codes are fixed
because domains award by code, so rules are neither created nor deleted here), the ledger
(read-only: corrections go through the API's adjustments or the service's reversals, never
edits) and the cached accounts (read-only)."""

from __future__ import annotations

from flask import has_request_context
from flask_admin.contrib.sqla import tools
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, FilterEqual, FilterLike, IntEqualFilter
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from admin.views.base import PanelModelView, local_datetime_filters
from app.errors import AppError
from app.extensions import db
from models import User
from models.points import RULE_PERIODS, TRANSACTION_KINDS, PointsAccount, PointsRule, PointsTransaction

RULE_FILTER = "积分规则"
KIND_CHOICES = list(TRANSACTION_KINDS.items())
PERIOD_CHOICES = [(code, label) for code, (label, _) in RULE_PERIODS.items()]


def _rule_options():
    return [(rule.code, rule.name) for rule in db.session.execute(select(PointsRule).order_by(PointsRule.id)).scalars()]


class UserFilter(FilterLike):
    """用户 包含: rows of users whose name or employee number contains the text."""

    def apply(self, query, value, alias=None):
        term = tools.parse_like_term(value)
        users = select(User.id).where(or_(User.name.ilike(term), User.employee_no.ilike(term)))
        return query.filter(self.column.in_(users))


class _ReadOnlyView(PanelModelView):
    allow_create = allow_edit = allow_delete = False

    def can_write(self, principal) -> bool:
        return False


class RuleView(PanelModelView):
    """积分规则: edit points, period, cap, name, description and whether it is active."""

    allow_create = allow_delete = False
    audit_name = "points_rule"
    audit_value_fields = ("name", "points", "period", "cap", "active")
    column_default_sort = ("id", False)
    column_list = ["code", "name", "points", "period", "cap", "active", "description", "updated_at"]
    column_details_list = ["code", "name", "points", "period", "cap", "active", "description", "created_at",
                           "updated_at"]
    column_labels = {"code": "编码", "name": "名称", "points": "每次积分", "period": "上限周期",
                     "cap": "每周期上限", "active": "启用", "description": "获取方式说明", "created_at": "创建时间",
                     "updated_at": "更新时间"}
    column_choices = {"period": PERIOD_CHOICES}
    column_formatters = {"cap": lambda v, c, m, n: "不设上限" if m.cap is None else m.cap}
    column_sortable_list = ["code", "points", "updated_at"]
    column_filters = [BooleanEqualFilter(PointsRule.active, "启用")]
    form_columns = ["name", "points", "period", "cap", "active", "description"]
    form_choices = {"period": PERIOD_CHOICES}
    form_args = {
        "name": {"validators": [InputRequired("请填写名称"), Length(min=1, max=50)]},
        "points": {"validators": [InputRequired("请填写每次积分"), NumberRange(min=1, max=10000,
                                                                         message="每次积分须为 1 至 10000")]},
        "cap": {"validators": [Optional(), NumberRange(min=1, max=1000000, message="上限须为正整数")],
                "description": "该周期内每人最多获得的积分；留空为不设上限；不能小于每次积分"},
        "description": {"validators": [Length(max=200)]},
    }

    def validate_change(self, form, model, is_created):
        model.name = (model.name or "").strip()
        model.description = (model.description or "").strip()
        if not model.name:
            raise AppError("VALIDATION_ERROR", message="请填写名称")
        if model.points is None or model.points <= 0:
            raise AppError("VALIDATION_ERROR", message="每次积分须大于 0")
        if model.period not in RULE_PERIODS:
            raise AppError("VALIDATION_ERROR", message="请选择上限周期")
        if model.cap is not None and model.cap < model.points:
            raise AppError("VALIDATION_ERROR", message="每周期上限不能小于每次积分（或留空表示不设上限）")


def _amount_formatter(view, context, model, name):
    return f"{model.amount:+d}"


class TransactionView(_ReadOnlyView):
    """积分明细: the ledger, newest first; the table only grows, so no COUNT(*) per page."""

    simple_list_pager = True
    column_default_sort = ("id", True)
    column_list = ["id", "created_at", "user", "kind", "amount", "balance_after", "rule", "reference", "note",
                   "actor"]
    column_details_list = ["id", "created_at", "user", "user_id", "kind", "amount", "balance_after", "rule",
                           "reference", "note", "reverses", "reversal", "actor", "expires_at"]
    column_labels = {"id": "序号", "created_at": "时间", "user": "用户", "user_id": "用户 ID", "kind": "类型",
                     "amount": "积分", "balance_after": "变动后余额", "rule": "积分规则", "reference": "业务编号",
                     "note": "备注/原因", "actor": "操作人", "reverses": "撤销的记录", "reversal": "被撤销于",
                     "expires_at": "过期时间"}
    column_choices = {"kind": KIND_CHOICES}
    column_formatters = {"amount": _amount_formatter,
                         "rule": lambda v, c, m, n: m.rule.name if m.rule else ""}
    column_sortable_list = ["created_at", "amount"]
    column_filters = [UserFilter(PointsTransaction.user_id, "用户"),
                      IntEqualFilter(PointsTransaction.user_id, "用户 ID"),
                      FilterEqual(PointsTransaction.kind, "类型", options=KIND_CHOICES),
                      FilterEqual(PointsTransaction.rule_code, RULE_FILTER),
                      FilterLike(PointsTransaction.reference, "业务编号"),
                      *local_datetime_filters(PointsTransaction.created_at, "时间")]

    def _get_filter_groups(self):
        # The rules' names as the filter's drop-down, read per request (Flask-Admin reads a
        # filter's options once, when the app is built, before any database is reachable).
        groups = super()._get_filter_groups()
        if groups and RULE_FILTER in groups and has_request_context():
            options = _rule_options()
            groups[RULE_FILTER] = [dict(item, options=options) for item in groups[RULE_FILTER]]
        return groups

    def get_query(self):
        return super().get_query().options(joinedload(PointsTransaction.user), joinedload(PointsTransaction.rule),
                                           joinedload(PointsTransaction.actor))


class AccountView(_ReadOnlyView):
    """积分账户: each user's cached balance and totals (checked by `flask points-check`)."""

    column_default_sort = ("balance", True)
    column_list = ["user", "balance", "earned_total", "spent_total", "updated_at"]
    column_details_list = ["user", "user_id", "balance", "earned_total", "spent_total", "updated_at"]
    column_labels = {"user": "用户", "user_id": "用户 ID", "balance": "余额", "earned_total": "累计获得",
                     "spent_total": "累计使用", "updated_at": "最近变动"}
    column_sortable_list = ["balance", "earned_total", "spent_total", "updated_at"]
    column_filters = [UserFilter(PointsAccount.user_id, "用户"), IntEqualFilter(PointsAccount.user_id, "用户 ID")]

    def get_query(self):
        return super().get_query().options(joinedload(PointsAccount.user))

    def get_one(self, id):
        try:
            pk = int(id)
        except (TypeError, ValueError):
            return None
        return self.get_query().filter(PointsAccount.user_id == pk).one_or_none()


def add_views(admin) -> None:
    admin.add_view(RuleView(PointsRule, name="积分规则", category="积分", endpoint="points_rule",
                            url="points-rules"))
    admin.add_view(TransactionView(PointsTransaction, name="积分明细", category="积分",
                                   endpoint="points_transaction", url="points-transactions"))
    admin.add_view(AccountView(PointsAccount, name="积分账户", category="积分", endpoint="points_account",
                               url="points-accounts"))
