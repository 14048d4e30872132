"""访客预约（邀请、申请、现场登记、审批）."""

from __future__ import annotations

from flask import current_app

from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db, limiter
from app.idempotency import idempotent
from app.schemas import paginate
from blueprints.visitors import visits as service
from blueprints.visitors.schemas_visits import (
    ApplicationCreateSchema,
    InvitationCompleteSchema,
    InvitationCreatedSchema,
    InvitationCreateSchema,
    InvitationViewSchema,
    VisitApplicationDetailSchema,
    VisitApplicationPageSchema,
    VisitDetailSchema,
    VisitMineArgs,
    VisitReasonSchema,
    VisitRequiredReasonSchema,
    WalkInCreateSchema,
)

blp = ApiBlueprint("visitors_visits", __name__, url_prefix="/visitors",
                   description="访客预约（邀请、申请、现场登记、审批）")

# The request route looks people up by name and phone: limited per user like binding.

_404 = {"schema": ErrorSchema, "description": "不存在或无权查看 (NOT_FOUND)"}
_WINDOW_422 = ("来访时间无效 (VISIT_WINDOW_INVALID)、已过 (VISIT_WINDOW_PAST)、过长 (VISIT_WINDOW_TOO_LONG)、"
               "过远 (VISIT_TOO_FAR_AHEAD)、周期次数无效 (VISIT_SERIES_INVALID)")
_PERSON_422 = ("未同意当前隐私告知 (VISIT_CONSENT_REQUIRED)、证件号码无效 (VISIT_ID_INVALID)、手机号无效 "
               "(VISIT_PHONE_INVALID)、随行人员过多 (VISIT_TOO_MANY_COMPANIONS)、车牌无效 (PARKING_PLATE_INVALID)、"
               "数据不符合要求")
_DECISION_409 = "没有可执行该操作的来访 (INVALID_TRANSITION)、来访时间均已过 (VISIT_WINDOW_PAST)"


def _apply_limit() -> str:
    return current_app.config["RATELIMIT_VISIT_APPLY"]


@blp.post("/invitations")
@blp.auth("staff")
@idempotent()
@blp.arguments(InvitationCreateSchema)
@blp.response(201, InvitationCreatedSchema)
@blp.alt_response(422, schema=ErrorSchema, description=(
    _WINDOW_422 + "、会议室预订无效 (VISIT_ROOM_BOOKING_INVALID)、车牌无效 (PARKING_PLATE_INVALID)"))
def create_invitation(body):
    """邀请访客（员工）：一次或每周重复的来访

    返回一次性邀请口令 invitation_token 和分享用的小程序路径 invitation_path（服务器只保存口令摘要，
    VISIT_INVITATION_DAYS 天内有效）。访客打开后填写个人信息即通过（命中黑名单则待管理员复核）。支持 Idempotency-Key。
    """
    application, token = service.invite(current_principal(), body)
    application.invitation_token = token
    return application


@blp.get("/invitations/<string:token>")
@blp.auth()
@blp.response(200, InvitationViewSchema)
@blp.alt_response(404, schema=ErrorSchema, description="邀请不存在 (VISIT_INVITATION_NOT_FOUND)")
@blp.alt_response(409, schema=ErrorSchema, description="邀请已由他人填写 (VISIT_INVITATION_USED)")
def view_invitation(token):
    """查看邀请（访客填写前）：被访人姓名、部门、事由、来访时间（不含被访人手机号）"""
    return service.invitation_view(current_principal(), token)


@blp.post("/invitations/<string:token>/complete")
@blp.auth("visitor", "staff")
@blp.arguments(InvitationCompleteSchema)
@blp.response(200, VisitApplicationDetailSchema)
@blp.alt_response(404, schema=ErrorSchema, description="邀请不存在 (VISIT_INVITATION_NOT_FOUND)")
@blp.alt_response(409, schema=ErrorSchema, description=(
    "已填写 (VISIT_INVITATION_USED)、已过期 (VISIT_INVITATION_EXPIRED)、已取消 (INVALID_TRANSITION)"))
@blp.alt_response(422, schema=ErrorSchema, description=_PERSON_422 + "、不能拜访自己 (VISIT_HOST_SELF)")
def complete_invitation(body, token):
    """填写邀请（访客）：同意隐私告知，填写姓名、手机号、证件、单位、随行人员、车牌

    只能填写一次；通过后即可在来访时间出示通行码；命中黑名单则待管理员复核（不会自动通过）。
    """
    application = service.complete(current_principal(), token, body)
    db.session.commit()
    return application


@blp.post("/applications")
@blp.auth("visitor", "staff")
@limiter.limit(_apply_limit)
@idempotent()
@blp.arguments(ApplicationCreateSchema)
@blp.response(201, VisitApplicationDetailSchema)
@blp.alt_response(404, schema=ErrorSchema, description="被访人姓名与手机号不匹配 (VISIT_HOST_NOT_FOUND)")
@blp.alt_response(422, schema=ErrorSchema, description=_WINDOW_422 + "、" + _PERSON_422)
@blp.alt_response(429, schema=ErrorSchema, description="请求过于频繁 (RATE_LIMITED)")
def create_application(body):
    """申请来访（访客）：填写被访人姓名和手机号（不能浏览员工名录）

    被访人确认或拒绝；命中黑名单则先由管理员复核。支持每周重复来访和随行人员。支持 Idempotency-Key。
    """
    return service.apply(current_principal(), body)


@blp.post("/walk-ins")
@blp.auth("guard")
@idempotent()
@blp.arguments(WalkInCreateSchema)
@blp.response(201, VisitApplicationDetailSchema)
@blp.alt_response(404, schema=ErrorSchema, description="被访人姓名与手机号不匹配 (VISIT_HOST_NOT_FOUND)")
@blp.alt_response(422, schema=ErrorSchema, description=_WINDOW_422 + "、" + _PERSON_422)
def create_walk_in(body):
    """现场登记（门卫）：访客在门岗阅读隐私告知后由门卫登记，从现在到 ends_at，被访人在手机上确认"""
    return service.register_walk_in(current_principal(), body)


@blp.get("/applications")
@blp.auth()
@blp.arguments(VisitMineArgs, location="query")
@blp.response(200, VisitApplicationPageSchema)
def my_applications(args):
    """我的访客预约（我接待的、我拜访的），按状态和日期筛选，新建的在前"""
    stmt = service.my_applications_query(current_principal(), args["role"], args["status"], args["date_from"],
                                         args["date_to"])
    return paginate(stmt, args["page"], args["per_page"])


@blp.get("/applications/<int:application_id>")
@blp.auth()
@blp.response(200, VisitApplicationDetailSchema)
@blp.alt_response(404, **_404)
def get_application(application_id):
    """访客预约详情：各次来访及其记录、随行人员（证件号掩码）、同意的告知版本"""
    return service.get_application(current_principal(), application_id)


@blp.post("/applications/<int:application_id>/approve")
@blp.auth("staff", "admin")
@blp.response(200, VisitApplicationDetailSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=_DECISION_409)
def approve(application_id):
    """同意来访（被访人或管理员）：整个申请的待确认来访一并通过，通知访客"""
    application = service.approve(current_principal(), application_id)
    db.session.commit()
    return application


@blp.post("/applications/<int:application_id>/reject")
@blp.auth("staff", "admin")
@blp.arguments(VisitRequiredReasonSchema)
@blp.response(200, VisitApplicationDetailSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=_DECISION_409)
def reject(body, application_id):
    """拒绝来访（被访人拒绝待确认的，管理员也可拒绝待复核的；须填写原因，通知访客）"""
    application = service.reject(current_principal(), application_id, body["reason"])
    db.session.commit()
    return application


@blp.post("/applications/<int:application_id>/release")
@blp.auth("admin")
@blp.arguments(VisitReasonSchema)
@blp.response(200, VisitApplicationDetailSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=_DECISION_409)
def release(body, application_id):
    """复核通过（管理员）：邀请和现场登记直接通过，访客申请转被访人确认；通知被访人"""
    application = service.release(current_principal(), application_id, body["reason"])
    db.session.commit()
    return application


@blp.post("/applications/<int:application_id>/cancel")
@blp.auth()
@blp.arguments(VisitReasonSchema)
@blp.response(200, VisitApplicationDetailSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=_DECISION_409)
def cancel_application(body, application_id):
    """取消整个申请（被访人、访客、管理员）：尚未入场的来访全部取消，通行证随即失效"""
    application = service.cancel(current_principal(), application_id, body["reason"])
    db.session.commit()
    return application


@blp.post("/visits/<int:visit_id>/cancel")
@blp.auth()
@blp.arguments(VisitReasonSchema)
@blp.response(200, VisitDetailSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="状态不允许取消 (INVALID_TRANSITION)")
def cancel_visit(body, visit_id):
    """取消一次来访（周期来访中的一次；被访人、访客、管理员）"""
    visit = service.cancel_visit(current_principal(), visit_id, body["reason"])
    db.session.commit()
    return visit
