import marshmallow as ma
from marshmallow import validate

from app.schemas import BusinessDate, Id, LocalDateTime, PageArgs, page_schema
from models.points import TRANSACTION_KINDS

KIND_DESCRIPTION = "类型：" + "，".join(f"{k} {v}" for k, v in TRANSACTION_KINDS.items())


class PointsExpiringSchema(ma.Schema):
    points = ma.fields.Integer(metadata={"description": "到期的积分"})
    expires_at = LocalDateTime(metadata={"description": "过期时间（该时刻起失效）"})
    last_day = BusinessDate(metadata={"description": "最后可用日（含）"})


class PointsSummarySchema(ma.Schema):
    balance = ma.fields.Integer(metadata={"description": "当前积分余额"})
    earned_total = ma.fields.Integer(metadata={"description": "累计获得（含管理员加分，扣除已撤销的）"})
    spent_total = ma.fields.Integer(metadata={"description": "累计使用（扣除已退回的）"})
    expiring_points = ma.fields.Integer(metadata={"description": "30 天内将过期的积分合计"})
    expiring_soon = ma.fields.List(ma.fields.Nested(PointsExpiringSchema),
                                   metadata={"description": "30 天内将过期的积分，按过期时间分组（先到期的在前）"})
    expiry_policy = ma.fields.String(metadata={"description": "积分有效期说明"})


class PointsTransactionSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": KIND_DESCRIPTION})
    kind_label = ma.fields.String(metadata={"description": "类型的中文名"})
    title = ma.fields.String(metadata={"description": "说明，例如「光盘打卡」「积分过期」「撤销：服务评价」"})
    amount = ma.fields.Integer(metadata={"description": "变动积分（获得为正，使用、过期为负）"})
    balance_after = ma.fields.Integer(metadata={"description": "变动后余额"})
    rule_code = ma.fields.String(allow_none=True, metadata={"description": "积分规则编码（获得及其撤销）"})
    rule_name = ma.fields.String(allow_none=True, metadata={"description": "积分规则名称"})
    note = ma.fields.String(allow_none=True, metadata={"description": "备注（调整、撤销时为原因）"})
    expires_at = LocalDateTime(allow_none=True, metadata={"description": "这笔积分的过期时间（获得、加分）"})
    reverses_id = ma.fields.Integer(allow_none=True, metadata={"description": "撤销的是哪条记录"})
    reversed = ma.fields.Boolean(attribute="is_reversed", metadata={"description": "这条记录是否已被撤销"})
    created_at = LocalDateTime()


class PointsAdminTransactionSchema(PointsTransactionSchema):
    user_id = ma.fields.Integer()
    reference = ma.fields.String(metadata={"description": "业务编号，例如 meal_checkin:123"})
    actor_id = ma.fields.Integer(allow_none=True, metadata={"description": "操作的管理员（调整、撤销）"})
    actor_name = ma.fields.String(allow_none=True, metadata={"description": "操作的管理员姓名"})


PointsTransactionPageSchema = page_schema(PointsTransactionSchema, "PointsTransactionPage")
PointsAdminTransactionPageSchema = page_schema(PointsAdminTransactionSchema, "PointsAdminTransactionPage")


class PointsTransactionListArgs(PageArgs):
    kind = ma.fields.String(load_default=None, validate=validate.OneOf(list(TRANSACTION_KINDS)),
                            metadata={"description": "只看某一类型"})


class PointsRuleSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "规则编码"})
    name = ma.fields.String(metadata={"description": "名称，例如 光盘打卡"})
    points = ma.fields.Integer(metadata={"description": "每次获得的积分"})
    period = ma.fields.String(metadata={"description": "上限周期：day, week（周一至周日）, month, none（累计）"})
    period_label = ma.fields.String()
    cap = ma.fields.Integer(allow_none=True, metadata={"description": "每周期最多获得的积分；空为不设上限"})
    cap_text = ma.fields.String(metadata={"description": "规则说明，例如「每次 2 分，每天最多 4 分」"})
    description = ma.fields.String(metadata={"description": "如何获得"})


class PointsAdjustmentBodySchema(ma.Schema):
    user_id = Id(required=True)
    amount = ma.fields.Integer(required=True, strict=True, validate=[
        validate.Range(min=-100000, max=100000), validate.NoneOf([0], error="调整积分不能为 0")],
        metadata={"description": "正数加分，负数扣分（不能使余额为负）"})
    reason = ma.fields.String(required=True, validate=validate.Length(min=2, max=200),
                              metadata={"description": "调整原因（记入审计日志，并显示给本人）"})

    @ma.post_load
    def _strip(self, data, **kwargs):
        data["reason"] = data["reason"].strip()
        if len(data["reason"]) < 2:
            raise ma.ValidationError("请填写调整原因", "reason")
        return data


class UserPointsSchema(PointsSummarySchema):
    user_id = ma.fields.Integer()
    user_name = ma.fields.String()
    employee_no = ma.fields.String(allow_none=True)
    transactions = ma.fields.Nested(PointsAdminTransactionPageSchema)
