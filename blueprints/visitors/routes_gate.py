"""访客通行（通行证、入场离场、在访名单）."""

from __future__ import annotations

from app import qrpass
from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db
from app.schemas import PageArgs, paginate
from blueprints.visitors import gate
from blueprints.visitors.rules import VISIT_PASS
from blueprints.visitors.schemas_gate import (
    GateExpectedArgs,
    GateVisitPageSchema,
    GateVisitSchema,
    VisitIdNumberSchema,
)

blp = ApiBlueprint("visitors_gate", __name__, url_prefix="/visitors",
                   description="访客通行（通行证、入场离场、在访名单）")

_404 = {"schema": ErrorSchema, "description": "不存在或无权查看 (NOT_FOUND)"}
_WINDOW = ("未到可入场时间 (VISIT_PASS_NOT_YET_VALID，details.valid_from)、"
           "来访时段已结束 (VISIT_PASS_WINDOW_OVER，details.ends_at)")
NO_STORE = {"Cache-Control": "no-store"}


@blp.get("/visits/<int:visit_id>/pass")
@blp.auth()
@blp.arguments(qrpass.PassArgs, location="query")
@blp.response(200, qrpass.PassSchema)
@blp.alt_response(200, **qrpass.PNG_DOC)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=(
    "不在可出示通行证的状态（待确认、已离开、已取消等，PASS_ORDER_NOT_ACTIVE）；" + _WINDOW))
def visit_pass(args, visit_id):
    """访客通行码（访客本人）：JSON {token, expires_at, refresh_after}，?format=png 为二维码图片

    已通过的来访自开始前 VISIT_EARLY_MINUTES 分钟至结束可出示，门岗扫码入场；在访时出示同一
    通行码扫码离场。凭证约一分钟有效，小程序在 refresh_after 后重新获取。
    """
    principal = current_principal()
    visit = gate.get_visit(principal, visit_id)
    return qrpass.pass_response(VISIT_PASS, visit, principal, args["format"])


@blp.post("/visits/<int:visit_id>/check-in")
@blp.auth("guard")
@blp.response(200, GateVisitSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=(
    "不是已通过状态（已入场、已取消等，INVALID_TRANSITION，message 说明当前状态）；" + _WINDOW))
def check_in(visit_id):
    """门岗登记入场（安保；现场登记的访客或未使用小程序的访客）

    与扫码入场相同：只在可入场时间内，记录入场时间和登记人，并通知被访人。
    """
    visit = gate.check_in(current_principal(), visit_id)
    db.session.commit()
    return visit


@blp.post("/visits/<int:visit_id>/check-out")
@blp.auth("guard")
@blp.response(200, GateVisitSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema,
                  description="不是在访状态（未入场或已离开，INVALID_TRANSITION）")
def check_out(visit_id):
    """门岗登记离场（安保），记录离场时间和登记人"""
    visit = gate.check_out(current_principal(), visit_id)
    db.session.commit()
    return visit


@blp.get("/gate/expected")
@blp.auth("guard", "admin", "auditor")
@blp.arguments(GateExpectedArgs, location="query")
@blp.response(200, GateVisitPageSchema)
def expected(args):
    """某日（默认今天）预计来访：已通过、待确认、待复核和已在访的来访，按开始时间排列

    手机号与证件号只显示掩码。
    """
    return paginate(gate.expected_query(args["date"], args["status"]), args["page"], args["per_page"])


@blp.get("/gate/inside")
@blp.auth("guard", "admin", "auditor")
@blp.arguments(PageArgs, location="query")
@blp.response(200, GateVisitPageSchema)
def inside(args):
    """当前在访人员：超时仍在访的（overstay 为 true）排在最前"""
    return paginate(gate.inside_query(), args["page"], args["per_page"])


@blp.get("/applications/<int:application_id>/id-number")
@blp.auth("id_verifier")
@blp.response(200, VisitIdNumberSchema)
@blp.alt_response(404, schema=ErrorSchema,
                  description="不存在 (NOT_FOUND)，或未登记证件号码、已清除 (VISIT_ID_NOT_STORED)")
def application_id_number(application_id):
    """查看访客完整证件号码（仅证件核验员；每次查看记入审计日志，不缓存）"""
    data = gate.reveal_application_id(current_principal(), application_id)
    db.session.commit()
    return data, NO_STORE


@blp.get("/companions/<int:companion_id>/id-number")
@blp.auth("id_verifier")
@blp.response(200, VisitIdNumberSchema)
@blp.alt_response(404, schema=ErrorSchema, description="不存在或已清除 (NOT_FOUND)")
def companion_id_number(companion_id):
    """查看随行人员完整证件号码（仅证件核验员；每次查看记入审计日志，不缓存）"""
    data = gate.reveal_companion_id(current_principal(), companion_id)
    db.session.commit()
    return data, NO_STORE
