"""会议室查询: the room list and one room, free rooms for a range or the next free hour, a
room's day view (staff), utilisation (administrators, auditors)."""

from __future__ import annotations

from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from blueprints.rooms import metrics, search
from blueprints.rooms.schemas_search import (
    RoomAvailableArgs,
    RoomDayArgs,
    RoomDayViewSchema,
    RoomFilterArgs,
    RoomNextHourPageSchema,
    RoomPageSchema,
    RoomSchema,
    RoomSearchArgs,
    RoomUtilisationArgs,
    RoomUtilisationReportSchema,
)

blp = ApiBlueprint("rooms_search", __name__, url_prefix="/rooms",
                   description="会议室查询（空闲会议室、日视图、使用率）")

# Staff search and book rooms; administrators and auditors see what staff see.
READERS = ("staff", "admin", "auditor")
_ROOM_404 = {"schema": ErrorSchema, "description": "会议室不存在或已停用 (ROOM_NOT_FOUND)"}


@blp.get("")
@blp.auth(*READERS)
@blp.arguments(RoomFilterArgs, location="query")
@blp.response(200, RoomSchema(many=True))
def list_rooms(args):
    """会议室列表（在用的），可按楼宇、最少人数、须具备的设备筛选

    每间会议室带楼宇、楼层、容纳人数、设备、开放时间、预订规则、审批方式、照片，以及当前用户
    所在部门能否预订（bookable）。
    """
    return search.list_rooms(**args)


@blp.get("/available")
@blp.auth(*READERS)
@blp.arguments(RoomAvailableArgs, location="query")
@blp.response(200, RoomPageSchema)
@blp.alt_response(422, schema=ErrorSchema, description=(
    "时间范围无效 (ROOM_RANGE_INVALID)、开始时间已过 (ROOM_IN_PAST)、超过 24 小时 (ROOM_TOO_LONG)、"
    "时间未带时区或参数不符合要求 (VALIDATION_ERROR)"))
def available_rooms(args):
    """查询某时段空闲的会议室（整段空闲、开放时间内、无停用、会议间隔已计入），人数最接近的在前

    分页返回（第一页是最合适的）。只列出当前用户所在部门可预订的会议室（未归属部门的用户：全部列出，
    bookable 标明能否预订）；预订规则（最短/最长时长、提前天数、开放日）不允许该时段的会议室不列出。
    """
    args = dict(args)
    start, end = args.pop("start_at"), args.pop("end_at")
    return search.search_free(current_principal(), start, end, **args)


@blp.get("/available/next-hour")
@blp.auth(*READERS)
@blp.arguments(RoomSearchArgs, location="query")
@blp.response(200, RoomNextHourPageSchema)
def next_free_hour(args):
    """最近的空闲一小时：每间会议室从现在（取整到下一个 15 分钟）起最早的空闲 60 分钟

    只在今天和该会议室下一个开放日的开放时间内找；找不到的会议室不列出。按开始时间、人数接近程度排列，
    分页返回。只列出当前用户所在部门可预订的会议室。
    """
    return search.next_free_hour(department_id=current_principal().department_id, **args)


@blp.get("/<int:room_id>")
@blp.auth(*READERS)
@blp.response(200, RoomSchema)
@blp.alt_response(404, **_ROOM_404)
def get_room(room_id):
    """查看一间会议室（含照片、预订规则，以及当前用户所在部门能否预订）"""
    return search.get_room(room_id)


@blp.get("/<int:room_id>/day")
@blp.auth(*READERS)
@blp.arguments(RoomDayArgs, location="query")
@blp.response(200, RoomDayViewSchema)
@blp.alt_response(404, **_ROOM_404)
def room_day(args, room_id):
    """会议室日视图：当日开放时段、停用时段和所有占用（跨午夜的预订在两天都显示）

    所有人可见每个占用的时间、状态和预订部门；会议主题、预订人和预订 id 仅预订人（及代订人）、
    参会人、审批人、管理员和审计员可见。
    """
    return search.day_view(current_principal(), room_id, args["day"])


@blp.get("/utilisation")
@blp.auth("admin", "auditor")
@blp.arguments(RoomUtilisationArgs, location="query")
@blp.response(200, RoomUtilisationReportSchema)
@blp.alt_response(404, **_ROOM_404)
@blp.alt_response(422, schema=ErrorSchema, description="统计期间无效或超过 366 天 (ROOM_PERIOD_INVALID)")
def utilisation(args):
    """会议室使用率（管理员、审计员）：开放、预订、实际使用时长，使用率，未签到率，高峰时段

    按北京时间的日期统计，期间最长 366 天；可只看一间会议室。
    """
    rooms = metrics.utilisation(args["date_from"], args["date_to"], args["room_id"])
    return {"date_from": args["date_from"], "date_to": args["date_to"], "rooms": rooms}
