"""报餐: book a meal or a week, specials' availability, cancel, my bookings, the pickup pass,
no-show penalties (the diner's own; administrators lift them)."""

from __future__ import annotations

from app import qrpass
from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db
from app.idempotency import idempotent
from app.schemas import PageArgs, paginate
from blueprints.canteen import booking as service
from blueprints.canteen.schemas_booking import (
    BookingCreateSchema,
    BookingDetailSchema,
    BookingPageSchema,
    CancelSchema,
    LiftSchema,
    MineArgs,
    PenaltyPageSchema,
    PenaltySchema,
    SpecialAvailabilitySchema,
    SpecialsArgs,
    WeekBookingSchema,
    WeekResultSchema,
)

blp = ApiBlueprint("canteen_booking", __name__, url_prefix="/canteen",
                   description="食堂报餐（预订、取消、取餐码、未取餐处理）")

_404 = {"schema": ErrorSchema, "description": "不存在或无权查看 (NOT_FOUND)"}


@blp.post("/bookings")
@blp.auth("staff")
@idempotent()
@blp.arguments(BookingCreateSchema)
@blp.response(201, BookingDetailSchema)
@blp.alt_response(403, schema=ErrorSchema, description="因多次未取餐被暂停报餐 (CANTEEN_SUSPENDED)")
@blp.alt_response(404, schema=ErrorSchema, description="餐次不存在 (CANTEEN_SLOT_NOT_FOUND)")
@blp.alt_response(409, schema=ErrorSchema, description=(
    "尚未开放 (CANTEEN_BOOKING_NOT_OPEN)、已截止或日期已过 (CANTEEN_BOOKING_CLOSED)、已预订该餐 "
    "(CANTEEN_ALREADY_BOOKED, details.booking_id)、已满 (CANTEEN_FULL)、特色菜未开始 (CANTEEN_SPECIAL_NOT_OPEN) "
    "或已售罄 (CANTEEN_SPECIAL_SOLD_OUT)、幂等键请求处理中 (IDEMPOTENCY_IN_PROGRESS)"))
@blp.alt_response(422, schema=ErrorSchema, description=(
    "食堂或餐次已停用 (CANTEEN_INACTIVE, CANTEEN_SLOT_INACTIVE)、该日不供应 (CANTEEN_NOT_SERVING)、"
    "菜品或份量无效 (CANTEEN_DISH_INVALID)、特色菜不属于该餐次和日期 (CANTEEN_SPECIAL_INVALID)、数据不符合要求"))
def create_booking(body):
    """预订一餐（每人每天每餐一份，不分食堂），可同时预订当日限量特色菜、预选菜品

    支持请求头 Idempotency-Key：网络重试不会重复预订。特色菜先到先得、绝不超卖；售罄立即返回 409。
    """
    return service.book(current_principal(), body["slot_id"], body["day"], body["special_id"], body["dishes"])


@blp.post("/bookings/week")
@blp.auth("staff")
@idempotent()
@blp.arguments(WeekBookingSchema)
@blp.response(200, WeekResultSchema)
@blp.alt_response(404, schema=ErrorSchema, description="餐次不存在 (CANTEEN_SLOT_NOT_FOUND)")
@blp.alt_response(422, schema=ErrorSchema, description="食堂或餐次已停用、数据不符合要求")
def book_week(body):
    """一次预订多天（最多 7 天）的同一餐次

    每天单独处理：能订的天都订上，订不了的天给出各自的错误码和说明（不是全部成功或全部失败）。
    支持 Idempotency-Key。
    """
    results = service.book_week(current_principal(), body["slot_id"], body["days"])
    return {"booked": sum(1 for r in results if r["booked"]), "results": results}


@blp.get("/bookings/mine")
@blp.auth()
@blp.arguments(MineArgs, location="query")
@blp.response(200, BookingPageSchema)
def my_bookings(args):
    """我的报餐（按用餐日期倒序），可按日期范围和状态筛选"""
    stmt = service.my_bookings_query(current_principal(), args.get("from_"), args.get("to"), args.get("status"))
    return paginate(stmt, args["page"], args["per_page"])


@blp.get("/bookings/<int:booking_id>")
@blp.auth()
@blp.response(200, BookingDetailSchema)
@blp.alt_response(404, **_404)
def get_booking(booking_id):
    """查看一份预订：本人、该食堂的运营人员、管理员和审计员；含时间线、截止时间、能否取消"""
    return service.get_booking(current_principal(), booking_id)


@blp.post("/bookings/<int:booking_id>/cancel")
@blp.auth()
@blp.arguments(CancelSchema)
@blp.response(200, BookingDetailSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=(
    "已过截止时间 (CANTEEN_CANCEL_CLOSED)、该餐次不可取消 (CANTEEN_CANCEL_NOT_ALLOWED) 或当前状态不能取消 "
    "(INVALID_TRANSITION)"))
def cancel_booking(body, booking_id):
    """取消预订（本人；截止时间前）。特色菜的份额同时退回"""
    booking = service.cancel(current_principal(), booking_id, body.get("note"))
    db.session.commit()
    return booking


@blp.get("/bookings/<int:booking_id>/pass")
@blp.auth()
@blp.arguments(qrpass.PassArgs, location="query")
@blp.response(200, qrpass.PassSchema)
@blp.alt_response(200, **qrpass.PNG_DOC)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="预订不是已预订状态 (PASS_ORDER_NOT_ACTIVE)")
def booking_pass(args, booking_id):
    """取餐码（本人）：JSON {token, expires_at, refresh_after}，?format=png 为二维码图片

    食堂工作人员用 POST /api/v1/passes/verify 扫码核销；只能在用餐当天的取餐时间内（前后 15 分钟）、
    在预订的食堂使用一次。
    """
    principal = current_principal()
    booking = service.get_booking(principal, booking_id)
    return qrpass.pass_response(service.MEAL_PASS, booking, principal, args["format"])


@blp.get("/specials")
@blp.auth()
@blp.arguments(SpecialsArgs, location="query")
@blp.response(200, SpecialAvailabilitySchema(many=True))
def list_specials(args):
    """某日的限量特色菜及剩余份数（售罄的 sold_out 为 true）"""
    return service.specials(args["day"], args.get("canteen_id"))


@blp.get("/penalties/mine")
@blp.auth()
@blp.arguments(PageArgs, location="query")
@blp.response(200, PenaltyPageSchema)
def my_penalties(args):
    """我的未取餐警告与暂停报餐记录（含原因、起止日期、是否生效）"""
    return paginate(service.my_penalties_query(current_principal()), args["page"], args["per_page"])


@blp.post("/penalties/<int:penalty_id>/lift")
@blp.auth("admin")
@blp.arguments(LiftSchema)
@blp.response(200, PenaltySchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="已解除 (CANTEEN_PENALTY_LIFTED)")
def lift_penalty(body, penalty_id):
    """解除未取餐处理（管理员；记录审计日志）"""
    penalty = service.lift_penalty(current_principal(), penalty_id, body.get("note"))
    db.session.commit()
    return penalty
