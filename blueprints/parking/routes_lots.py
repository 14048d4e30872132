"""停车场、实时车位、使用情况与在场数校正。"""

from __future__ import annotations

from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db
from blueprints.parking import lots, visitor_parking
from blueprints.parking.schemas_lots import (
    LotSchema,
    OccupancyCorrectionSchema,
    UsageArgs,
    UsageSchema,
    VisitorAvailabilityArgs,
    VisitorAvailabilitySchema,
)

blp = ApiBlueprint("parking_lots", __name__, url_prefix="/parking", description="停车：停车场、车位与使用情况")

_404 = {"schema": ErrorSchema, "description": "停车场不存在 (PARKING_LOT_NOT_FOUND)"}


@blp.get("/lots")
@blp.auth("staff", "guard", "admin", "auditor")
@blp.response(200, LotSchema(many=True))
def list_lots():
    """停车场列表：各类车位数、当前在场车辆数与空余车位"""
    return lots.list_lots()


@blp.get("/lots/<int:lot_id>")
@blp.auth("staff", "guard", "admin", "auditor")
@blp.response(200, LotSchema)
@blp.alt_response(404, **_404)
def get_lot(lot_id):
    """一个停车场的车位与实时在场数"""
    return lots.lot_view(lots.get_lot(lot_id))


@blp.post("/lots/<int:lot_id>/occupancy")
@blp.auth("guard", "admin")
@blp.arguments(OccupancyCorrectionSchema)
@blp.response(200, LotSchema)
@blp.alt_response(404, **_404)
def correct_occupancy(body, lot_id):
    """校正在场车辆数（安保清点后），须填写原因；记入审计日志，夜间对账以此为基准"""
    view = lots.correct(current_principal(), lot_id, body["occupied"], body["reason"])
    db.session.commit()
    return view


@blp.get("/lots/<int:lot_id>/usage")
@blp.auth("guard", "admin", "auditor")
@blp.arguments(UsageArgs, location="query")
@blp.response(200, UsageSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(422, schema=ErrorSchema, description="统计期间无效 (PARKING_PERIOD_INVALID)")
def usage(args, lot_id):
    """停车场使用情况：按日的入场、出场、拒绝次数和车辆数，入场原因分布（北京时间）"""
    return lots.usage(lot_id, args["date_from"], args["date_to"])


@blp.get("/visitor-availability")
@blp.auth("staff", "guard", "admin", "auditor")
@blp.arguments(VisitorAvailabilityArgs, location="query")
@blp.response(200, VisitorAvailabilitySchema(many=True))
def visitor_availability(args):
    """某时段各停车场剩余的访客车位（被访人同意来访前查看；同意带车牌的来访时自动预留一个）"""
    return visitor_parking.availability(args["starts_at"], args["ends_at"])
