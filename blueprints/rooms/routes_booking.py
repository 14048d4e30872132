"""会议室预订: book, edit, cancel, recurring series, approval, delegations, my quota."""

from __future__ import annotations

from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db
from app.idempotency import idempotent
from app.schemas import PageArgs, paginate
from blueprints.rooms import booking as service
from blueprints.rooms.schemas_booking import (
    RoomBookingCreateSchema,
    RoomBookingDetailSchema,
    RoomBookingPageSchema,
    RoomBookingUpdateSchema,
    RoomCountSchema,
    RoomDelegationCreateSchema,
    RoomDelegationSchema,
    RoomMineArgs,
    RoomQuotaSchema,
    RoomReasonSchema,
    RoomRequiredReasonSchema,
    RoomSeriesCreateSchema,
    RoomSeriesReportSchema,
    RoomSeriesSchema,
    RoomSeriesUpdateSchema,
)

blp = ApiBlueprint("rooms_booking", __name__, url_prefix="/rooms",
                   description="会议室预订（预订、修改、取消、周期会议、审批、委托）")

_404 = {"schema": ErrorSchema, "description": "不存在或无权查看 (NOT_FOUND)"}
_DECISION_409 = "已超过审批期限 (ROOM_APPROVAL_EXPIRED)、不是待审批 (INVALID_TRANSITION)"
_BOOK_403 = ("您所在部门不能预订 (ROOM_DEPARTMENT_NOT_ALLOWED)、因多次未签到被暂停 (ROOM_SUSPENDED)、"
             "未获代订授权 (ROOM_NOT_DELEGATED)")
_BOOK_409 = ("时段已被预订 (ROOM_TIME_CONFLICT，details.conflicts 只含时间)、暂停使用 (ROOM_BLACKOUT)、"
             "超出配额 (ROOM_QUOTA_EXCEEDED)、幂等键请求处理中 (IDEMPOTENCY_IN_PROGRESS)")
_BOOK_422 = ("时间无效 (ROOM_RANGE_INVALID)、已过去 (ROOM_IN_PAST)、过短或过长 (ROOM_TOO_SHORT, ROOM_TOO_LONG)、"
             "超出可提前天数 (ROOM_TOO_FAR_AHEAD)、不开放 (ROOM_NOT_OPEN_DAY, ROOM_OUTSIDE_HOURS)、"
             "会议室停用 (ROOM_INACTIVE)、人数超过容量 (ROOM_CAPACITY_EXCEEDED)、参会人无效 (ROOM_ATTENDEE_INVALID)、"
             "数据不符合要求")


@blp.post("/bookings")
@blp.auth("staff")
@idempotent()
@blp.arguments(RoomBookingCreateSchema)
@blp.response(201, RoomBookingDetailSchema)
@blp.alt_response(403, schema=ErrorSchema, description=_BOOK_403)
@blp.alt_response(404, schema=ErrorSchema, description="会议室不存在 (ROOM_NOT_FOUND)")
@blp.alt_response(409, schema=ErrorSchema, description=_BOOK_409)
@blp.alt_response(422, schema=ErrorSchema, description=_BOOK_422)
def create_booking(body):
    """预订会议室

    需要审批的会议室返回 status=pending（approval_deadline 前未审批自动失效），否则 approved。
    冲突由数据库排他约束裁决：同一时段只有一人成功，其余 409 ROOM_TIME_CONFLICT。支持 Idempotency-Key。
    """
    return service.create_booking(current_principal(), body)


@blp.get("/bookings")
@blp.auth("staff")
@blp.arguments(RoomMineArgs, location="query")
@blp.response(200, RoomBookingPageSchema)
def my_bookings(args):
    """我的会议室预订（我组织的、我代订的、我参加的），开始时间倒序"""
    stmt = service.my_bookings_query(current_principal(), args["date_from"], args["date_to"], args["status"])
    return paginate(stmt, args["page"], args["per_page"])


@blp.get("/bookings/<int:booking_id>")
@blp.auth("staff", "admin", "auditor", "room_approver")
@blp.response(200, RoomBookingDetailSchema)
@blp.alt_response(404, **_404)
def get_booking(booking_id):
    """预订详情（组织人、代订人、参会人、审批人、管理员可见；其他人只能在日视图看到占用部门）"""
    return service.get_booking(current_principal(), booking_id)


@blp.patch("/bookings/<int:booking_id>")
@blp.auth("staff")
@blp.arguments(RoomBookingUpdateSchema)
@blp.response(200, RoomBookingDetailSchema)
@blp.alt_response(403, schema=ErrorSchema, description="非组织人一方 (FORBIDDEN) 或 " + _BOOK_403)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=(
    "会议已开始 (ROOM_EDIT_CLOSED)、待审批的预订不能改到无需审批的会议室 (ROOM_PENDING_MOVE)、" + _BOOK_409))
@blp.alt_response(422, schema=ErrorSchema, description=_BOOK_422)
def update_booking(body, booking_id):
    """修改预订（组织人或代订人，会前）：主题、人数、参会人、服务、时间或会议室

    改时间或会议室按新预订重新检查；需审批的会议室改期后重新进入待审批。
    """
    booking = service.update_booking(current_principal(), booking_id, body)
    db.session.commit()
    return booking


@blp.post("/bookings/<int:booking_id>/cancel")
@blp.auth("staff")
@blp.arguments(RoomReasonSchema)
@blp.response(200, RoomBookingDetailSchema)
@blp.alt_response(403, schema=ErrorSchema, description="非组织人一方 (FORBIDDEN)")
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema,
                  description="会议已开始 (ROOM_CANCEL_CLOSED)、状态不允许取消 (INVALID_TRANSITION)")
def cancel_booking(body, booking_id):
    """取消预订（组织人或代订人，会前）：通知参会人，会议服务同时取消，空出的时段通知候补"""
    booking = service.cancel(current_principal(), booking_id, body["reason"])
    db.session.commit()
    return booking


@blp.post("/series/preview")
@blp.auth("staff")
@blp.arguments(RoomSeriesCreateSchema)
@blp.response(200, RoomSeriesReportSchema)
@blp.alt_response(403, schema=ErrorSchema, description=_BOOK_403)
@blp.alt_response(422, schema=ErrorSchema, description="场次过多 (ROOM_SERIES_TOO_LONG)、" + _BOOK_422)
def preview_series(body):
    """周期会议预览：逐场列出能否预订及冲突（不预订）"""
    _, report = service.create_series(current_principal(), body, preview=True)
    return {"series_id": None, "booked": 0, "occurrences": report}


@blp.post("/series")
@blp.auth("staff")
@idempotent()
@blp.arguments(RoomSeriesCreateSchema)
@blp.response(201, RoomSeriesReportSchema)
@blp.alt_response(403, schema=ErrorSchema, description=_BOOK_403)
@blp.alt_response(409, schema=ErrorSchema, description=(
    "有场次不能预订且 book_available=false，或没有一场能预订 (ROOM_SERIES_CONFLICTS，details.occurrences 为逐场报告)"))
@blp.alt_response(422, schema=ErrorSchema, description="场次过多 (ROOM_SERIES_TOO_LONG)、" + _BOOK_422)
def create_series(body):
    """预订周期会议（每天、每周几、每月；截止日期或场次数）

    每场单独检查；有冲突时默认不预订并返回逐场报告，book_available=true 则预订其余场次。支持 Idempotency-Key。
    """
    series, report = service.create_series(current_principal(), body)
    return {"series_id": series.id, "booked": sum(1 for r in report if r["ok"]), "occurrences": report}


@blp.get("/series/<int:series_id>")
@blp.auth("staff", "admin", "auditor")
@blp.response(200, RoomSeriesSchema)
@blp.alt_response(404, **_404)
def get_series(series_id):
    """周期会议及其各场预订（组织人、代订人）"""
    return service.get_series(current_principal(), series_id)


@blp.patch("/series/<int:series_id>")
@blp.auth("staff")
@blp.arguments(RoomSeriesUpdateSchema)
@blp.response(200, RoomSeriesReportSchema)
@blp.alt_response(403, schema=ErrorSchema, description="非组织人一方 (FORBIDDEN)")
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="周期会议已取消 (ROOM_EDIT_CLOSED)")
def update_series(body, series_id):
    """修改周期会议以后的各场（主题、人数、参会人、服务，或统一的新开始时间和时长）

    逐场检查并报告结果（occurrences），不能修改的场次保持原样；参会人只收到一次通知。
    """
    report = service.update_series(current_principal(), series_id, body)
    db.session.commit()
    return {"series_id": series_id, "booked": sum(1 for r in report if r["ok"]), "occurrences": report}


@blp.post("/series/<int:series_id>/cancel")
@blp.auth("staff")
@blp.arguments(RoomReasonSchema)
@blp.response(200, RoomCountSchema)
@blp.alt_response(403, schema=ErrorSchema, description="非组织人一方 (FORBIDDEN)")
@blp.alt_response(404, **_404)
def cancel_series(body, series_id):
    """取消周期会议以后的全部场次（单场取消用预订的取消接口）"""
    count = service.cancel_series(current_principal(), series_id, body["reason"])
    db.session.commit()
    return {"cancelled": count}


@blp.get("/approvals")
@blp.auth("room_approver", "admin")
@blp.arguments(PageArgs, location="query")
@blp.response(200, RoomBookingPageSchema)
def approvals(args):
    """待我审批的会议室预订（审批人、管理员；已过审批期限的不列出），开始时间早的在前"""
    return paginate(service.approvals_query(current_principal()), args["page"], args["per_page"])


@blp.post("/bookings/<int:booking_id>/approve")
@blp.auth("room_approver", "admin")
@blp.response(200, RoomBookingDetailSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=_DECISION_409)
def approve(booking_id):
    """审批通过（该会议室或该部门的审批人、管理员）"""
    booking = service.approve(current_principal(), booking_id)
    db.session.commit()
    return booking


@blp.post("/bookings/<int:booking_id>/reject")
@blp.auth("room_approver", "admin")
@blp.arguments(RoomRequiredReasonSchema)
@blp.response(200, RoomBookingDetailSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=_DECISION_409)
def reject(body, booking_id):
    """驳回（须填写原因，通知组织人）"""
    booking = service.reject(current_principal(), booking_id, body["reason"])
    db.session.commit()
    return booking


@blp.get("/delegations")
@blp.auth("staff")
@blp.response(200, RoomDelegationSchema(many=True))
def delegations():
    """我给出的和我获得的代订授权"""
    return service.delegations_of(current_principal())


@blp.post("/delegations")
@blp.auth("staff")
@blp.arguments(RoomDelegationCreateSchema)
@blp.response(201, RoomDelegationSchema)
@blp.alt_response(409, schema=ErrorSchema, description="已授权该人员 (ROOM_DELEGATION_EXISTS)")
@blp.alt_response(422, schema=ErrorSchema, description="被授权人须为其他在职员工 (ROOM_DELEGATION_INVALID)")
def delegate(body):
    """授权秘书代我预订会议室（双方都能看到代订的预订）"""
    delegation = service.delegate(current_principal(), body["secretary_id"])
    db.session.commit()
    return delegation


@blp.post("/delegations/<int:delegation_id>/revoke")
@blp.auth("staff", "admin")
@blp.response(200, RoomDelegationSchema)
@blp.alt_response(404, **_404)
def revoke_delegation(delegation_id):
    """撤销代订授权（授权人或管理员；已代订的预订不受影响）"""
    delegation = service.revoke_delegation(current_principal(), delegation_id)
    db.session.commit()
    return delegation


@blp.get("/quota")
@blp.auth("staff")
@blp.response(200, RoomQuotaSchema)
def my_quota():
    """我的预订配额与本周、今日已用"""
    return service.my_quota(current_principal())
