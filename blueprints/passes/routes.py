"""Scanning QR passes: one endpoint for every purpose (meal pickup, visitor entry and exit,
redemption pickup); who may scan what is each purpose's rule (app/qrpass.py)."""

from app import qrpass
from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db
from blueprints.passes.schemas import ScanResultSchema, VerifyBodySchema

blp = ApiBlueprint("passes", __name__, url_prefix="/passes", description="二维码凭证核验")


@blp.post("/verify")
@blp.auth()
@blp.arguments(VerifyBodySchema)
@blp.response(200, ScanResultSchema)
@blp.alt_response(400, schema=ErrorSchema,
                  description="二维码无效 (PASS_INVALID，details.reason) 或已过期 (PASS_EXPIRED)")
@blp.alt_response(404, schema=ErrorSchema, description="订单不存在 (NOT_FOUND)")
@blp.alt_response(409, schema=ErrorSchema, description=(
    "订单已不在出示凭证时的状态：已核验过、已取消等 (INVALID_TRANSITION，message 与 details 说明当前状态)"))
def verify(body):
    """扫码核验（食堂员工、安保等扫码角色）

    验证凭证并完成订单的下一步（取餐、入场、离场…）。凭证只对出示时的状态有效：同一凭证
    扫描两次或两人同时扫描，只有一次成功，另一次为 409 INVALID_TRANSITION（说明当前状态）。
    """
    result = qrpass.scan(current_principal(), body["token"])
    db.session.commit()
    return result
