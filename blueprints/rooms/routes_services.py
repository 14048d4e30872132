"""会议服务任务（物业）与会议室调剂（管理员）。"""

from __future__ import annotations

from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db
from app.schemas import paginate
from blueprints.rooms import adminops, services
from blueprints.rooms.schemas_booking import RoomBookingDetailSchema
from blueprints.rooms.schemas_search import RoomCardSchema
from blueprints.rooms.schemas_services import (
    RoomAdminCancelResultSchema,
    RoomAdminCancelSchema,
    RoomMoveSchema,
    RoomServiceArgs,
    RoomServicePageSchema,
    RoomServiceTaskSchema,
)

blp = ApiBlueprint("rooms_services", __name__, url_prefix="/rooms",
                   description="会议服务任务（物业）与会议室调剂（管理员）")

_404 = {"schema": ErrorSchema, "description": "不存在或无权查看 (NOT_FOUND)"}


@blp.get("/services")
@blp.auth("property_dispatcher", "technician", "admin", "auditor")
@blp.arguments(RoomServiceArgs, location="query")
@blp.response(200, RoomServicePageSchema)
def service_tasks(args):
    """会议服务任务（物业公司人员：本公司负责的会议室；管理员、审计员：全部），按应完成时间排序

    只含布置所需信息（会议室、时间、人数、服务内容），不含会议主题和参会人。
    """
    stmt = services.tasks_query(current_principal(), args["date_from"], args["date_to"], args["status"])
    return paginate(stmt, args["page"], args["per_page"])


@blp.post("/services/<int:task_id>/done")
@blp.auth("property_dispatcher", "technician", "admin")
@blp.response(200, RoomServiceTaskSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="已完成或已取消 (ROOM_SERVICE_NOT_OPEN)")
def service_done(task_id):
    """完成一项会议服务（物业公司人员）"""
    task = services.mark_done(current_principal(), task_id)
    db.session.commit()
    return task


@blp.post("/bookings/<int:booking_id>/move")
@blp.auth("admin")
@blp.arguments(RoomMoveSchema)
@blp.response(200, RoomBookingDetailSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=(
    "新时段已被预订 (ROOM_TIME_CONFLICT)、暂停使用 (ROOM_BLACKOUT)、状态不允许 (INVALID_TRANSITION)"))
@blp.alt_response(422, schema=ErrorSchema, description="时间无效、会议室停用、人数超过容量 (ROOM_CAPACITY_EXCEEDED)")
def move_booking(body, booking_id):
    """会议室调剂：把预订调到另一会议室或时间（管理员，须填原因；通知组织人和参会人，记入审计日志）"""
    booking = adminops.move(current_principal(), booking_id, body)
    db.session.commit()
    return booking


@blp.post("/bookings/<int:booking_id>/admin-cancel")
@blp.auth("admin")
@blp.arguments(RoomAdminCancelSchema)
@blp.response(200, RoomAdminCancelResultSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="状态不允许取消 (INVALID_TRANSITION)")
def admin_cancel(body, booking_id):
    """管理员取消预订（须填原因）：通知组织人并给出同时段容量相近的空闲会议室"""
    booking, alternatives = adminops.admin_cancel(current_principal(), booking_id, body["reason"])
    db.session.commit()
    return {"booking": booking, "alternatives": alternatives}


@blp.get("/bookings/<int:booking_id>/alternatives")
@blp.auth("admin")
@blp.response(200, RoomCardSchema(many=True))
@blp.alt_response(404, **_404)
def alternatives(booking_id):
    """该预订时段空闲、容量足够的其他会议室（管理员调剂用，最合适的在前）"""
    return adminops.alternatives_for(current_principal(), booking_id)
