"""会议室签到、提前结束、候补、未签到处理、日历 (.ics) 与订阅。"""

from __future__ import annotations

from flask import Response

from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db
from app.idempotency import idempotent
from app.schemas import PageArgs, paginate
from blueprints.rooms import booking as bookings
from blueprints.rooms import ics, loop, waitlist
from blueprints.rooms.schemas_booking import RoomBookingDetailSchema
from blueprints.rooms.schemas_loop import (
    RoomCheckinSchema,
    RoomFeedCreateSchema,
    RoomFeedSchema,
    RoomLiftSchema,
    RoomPenaltiesSchema,
    RoomSuspensionSchema,
    RoomWaitlistCreateSchema,
    RoomWaitlistPageSchema,
    RoomWaitlistSchema,
)

blp = ApiBlueprint("rooms_loop", __name__, url_prefix="/rooms",
                   description="会议室签到、自动释放、候补、日历订阅")

_404 = {"schema": ErrorSchema, "description": "不存在或无权查看 (NOT_FOUND)"}
_403 = {"schema": ErrorSchema, "description": "可以查看但无权操作 (FORBIDDEN)"}
_BOOKING_ERRORS = "与预订相同：时间无效、超出开放时间、已过去等 (ROOM_RANGE_INVALID、ROOM_OUTSIDE_HOURS、ROOM_IN_PAST…)"
FEED_PATH = "/api/v1/rooms/feed/{token}.ics"


@blp.post("/bookings/<int:booking_id>/check-in")
@blp.auth("staff")
@blp.arguments(RoomCheckinSchema)
@blp.response(200, RoomBookingDetailSchema)
@blp.alt_response(403, **_403)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=(
    "不是本会议室的门口码 (ROOM_CHECKIN_WRONG_ROOM)、"
    "不在签到时间内 (ROOM_CHECKIN_WINDOW，details 含 opens_at、closes_at)、"
    "状态不允许（已签到、已释放等，INVALID_TRANSITION）"))
def check_in(body, booking_id):
    """扫会议室门口码签到（组织人、代订人或参会人；开始前若干分钟至开始后若干分钟内）

    开始后超过规定时间仍未签到，预订自动释放并计一次未签到。
    """
    booking = loop.check_in(current_principal(), booking_id, body["scene"])
    db.session.commit()
    return booking


@blp.post("/bookings/<int:booking_id>/finish")
@blp.auth("staff")
@blp.response(200, RoomBookingDetailSchema)
@blp.alt_response(403, **_403)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema,
                  description="已到结束时间 (ROOM_FINISH_WINDOW)、未签到或已结束 (INVALID_TRANSITION)")
def finish(booking_id):
    """提前结束会议（组织人或代订人，已签到）：结束时间记为当前时间（取整到分钟），释放剩余时段并通知候补"""
    booking = loop.finish(current_principal(), booking_id)
    db.session.commit()
    return booking


@blp.get("/bookings/<int:booking_id>/ics")
@blp.auth("staff", "admin", "auditor", "room_approver")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="text/calendar")
@blp.alt_response(404, **_404)
def booking_ics(booking_id):
    """下载一次预订的日历文件 (.ics)"""
    booking = bookings.get_booking(current_principal(), booking_id)
    return Response(ics.booking_ics(booking), mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="room-booking-{booking.id}.ics"',
        "Cache-Control": "private, no-store"})


@blp.get("/penalties/me")
@blp.auth("staff")
@blp.response(200, RoomPenaltiesSchema)
def my_penalties():
    """我的未签到记录与当前暂停（原因、暂停至何时）"""
    return loop.my_penalties(current_principal())


@blp.post("/suspensions/<int:suspension_id>/lift")
@blp.auth("admin")
@blp.arguments(RoomLiftSchema)
@blp.response(200, RoomSuspensionSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="已解除 (ROOM_SUSPENSION_LIFTED)")
def lift(body, suspension_id):
    """解除会议室预订暂停（管理员，记入审计日志）"""
    suspension = loop.lift_suspension(current_principal(), suspension_id, body["reason"])
    db.session.commit()
    return suspension


@blp.post("/waitlist")
@blp.auth("staff")
@idempotent()
@blp.arguments(RoomWaitlistCreateSchema)
@blp.response(201, RoomWaitlistSchema)
@blp.alt_response(403, schema=ErrorSchema,
                  description="本部门不能预订该会议室 (ROOM_DEPARTMENT_NOT_ALLOWED)、预订已暂停 (ROOM_SUSPENDED)")
@blp.alt_response(404, schema=ErrorSchema, description="会议室不存在 (ROOM_NOT_FOUND)")
@blp.alt_response(409, schema=ErrorSchema, description=(
    "该时段空闲，直接预订即可 (ROOM_WAITLIST_SLOT_FREE)、已在候补 (ROOM_WAITLIST_EXISTS)、暂停使用 (ROOM_BLACKOUT)、"
    "幂等键请求处理中 (IDEMPOTENCY_IN_PROGRESS)"))
@blp.alt_response(422, schema=ErrorSchema, description=(
    "会议室已停用 (ROOM_INACTIVE)、超过容量 (ROOM_CAPACITY_EXCEEDED)；" + _BOOKING_ERRORS))
def join_waitlist(body):
    """候补一个已被占用的时段：时段空出时按先后通知，限时确认预订"""
    return waitlist.join(current_principal(), body)  # @idempotent commits


@blp.get("/waitlist")
@blp.auth("staff")
@blp.arguments(PageArgs, location="query")
@blp.response(200, RoomWaitlistPageSchema)
def my_waitlist(args):
    """我的候补"""
    return paginate(waitlist.mine_query(current_principal()), args["page"], args["per_page"])


@blp.post("/waitlist/<int:entry_id>/cancel")
@blp.auth("staff")
@blp.response(200, RoomWaitlistSchema)
@blp.alt_response(404, **_404)
def leave_waitlist(entry_id):
    """取消候补（已通知的名额转给下一位）"""
    entry = waitlist.leave(current_principal(), entry_id)
    db.session.commit()
    return entry


@blp.post("/waitlist/<int:entry_id>/accept")
@blp.auth("staff")
@blp.response(200, RoomWaitlistSchema)
@blp.alt_response(403, schema=ErrorSchema, description="预订已暂停 (ROOM_SUSPENDED) 等预订错误")
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=(
    "未轮到或通知已过期 (ROOM_WAITLIST_NOT_OFFERED)、已被他人抢先 (ROOM_TIME_CONFLICT) 等预订错误"))
@blp.alt_response(422, schema=ErrorSchema, description=_BOOKING_ERRORS)
def accept_waitlist(entry_id):
    """确认预订已通知的候补时段（按预订规则检查）"""
    entry = waitlist.accept(current_principal(), entry_id)
    db.session.commit()
    return entry


@blp.get("/feed")
@blp.auth("staff")
@blp.response(200, RoomFeedSchema)
def feed_status():
    """我的日历订阅状态（不返回地址）"""
    feed = ics.live_feed(current_principal().user_id)
    return {"live": feed is not None, "created_at": feed.created_at if feed else None,
            "include_subjects": feed.include_subjects if feed else None, "url": None}


@blp.post("/feed")
@blp.auth("staff")
@blp.arguments(RoomFeedCreateSchema)
@blp.response(201, RoomFeedSchema)
def create_feed(body):
    """生成日历订阅地址（旧地址同时作废）；地址只在此时返回一次"""
    feed, token = ics.create_feed(current_principal(), body["include_subjects"])
    db.session.commit()
    return {"live": True, "created_at": feed.created_at, "include_subjects": feed.include_subjects,
            "url": FEED_PATH.format(token=token)}


@blp.post("/feed/revoke")
@blp.auth("staff")
@blp.response(200, RoomFeedSchema)
def revoke_feed():
    """作废我的日历订阅地址"""
    ics.revoke_feed(current_principal())
    db.session.commit()
    return {"live": False, "created_at": None, "include_subjects": None, "url": None}


@blp.get("/feed/<string:token>.ics")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="text/calendar")
@blp.alt_response(404, **_404)
def feed(token):
    """日历订阅（无需登录，凭地址中的密钥；作废后 404）"""
    body = ics.feed_ics(token)
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"})
