"""积分: my balance and ledger, the earning rules; administrators' adjustments and a user's ledger."""

from flask import request

from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.idempotency import HEADER, idempotent
from app.schemas import PageArgs, paginate
from blueprints.points import service
from blueprints.points.schemas import (
    PointsAdjustmentBodySchema,
    PointsAdminTransactionSchema,
    PointsRuleSchema,
    PointsSummarySchema,
    PointsTransactionListArgs,
    PointsTransactionPageSchema,
    UserPointsSchema,
)

blp = ApiBlueprint("points", __name__, url_prefix="", description="积分：余额、明细、获取规则；管理员调整")


@blp.get("/points/me")
@blp.auth()
@blp.response(200, PointsSummarySchema)
def my_points():
    """我的积分：余额、累计获得与使用、30 天内将过期的积分"""
    return service.summary(current_principal().user_id)


@blp.get("/points/transactions")
@blp.auth()
@blp.arguments(PointsTransactionListArgs, location="query")
@blp.response(200, PointsTransactionPageSchema)
def my_transactions(args):
    """我的积分明细（最新在前），可按类型筛选；每个人只看到自己的"""
    stmt = service.transaction_query(current_principal().user_id, args["kind"])
    return paginate(stmt, args["page"], args["per_page"])


@blp.get("/points/rules")
@blp.auth()
@blp.response(200, PointsRuleSchema(many=True))
def rules():
    """如何获得积分：启用中的积分规则及每周期上限"""
    return service.active_rules()


@blp.post("/points/adjustments")
@blp.auth("admin")
@idempotent(required=True)
@blp.arguments(PointsAdjustmentBodySchema)
@blp.response(201, PointsAdminTransactionSchema)
@blp.alt_response(404, schema=ErrorSchema, description="用户不存在 (NOT_FOUND)")
@blp.alt_response(409, schema=ErrorSchema, description="扣分超过余额 (POINTS_INSUFFICIENT)，details: {balance, "
                                                       "required}；或幂等键的请求仍在处理 (IDEMPOTENCY_IN_PROGRESS)")
def adjust(body):
    """调整用户积分（管理员）：正数加分、负数扣分，须填写原因，记入审计日志

    必须带 Idempotency-Key：网络重试返回首次结果，不会重复调整。
    """
    principal = current_principal()
    reference = f"adjust:{principal.user_id}:{request.headers[HEADER]}"
    return service.adjust(body["user_id"], body["amount"], actor=principal, reason=body["reason"],
                          reference=reference)  # the decorator commits with the key


@blp.get("/points/users/<int:user_id>")
@blp.auth("admin", "auditor")
@blp.arguments(PageArgs, location="query")
@blp.response(200, UserPointsSchema)
@blp.alt_response(404, schema=ErrorSchema, description="用户不存在 (NOT_FOUND)")
def user_points(args, user_id):
    """查看某人的积分余额与明细（管理员、审计员）"""
    user = service.get_user(user_id)
    result = service.summary(user.id)
    result.update(user_name=user.name, employee_no=user.employee_no,
                  transactions=paginate(service.transaction_query(user.id), args["page"], args["per_page"]))
    return result
