"""车位预约、抽签结果与候补。"""

from __future__ import annotations

from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db
from app.idempotency import idempotent
from blueprints.parking import reservations
from blueprints.parking.schemas_reservations import DrawSchema, ReservationCreateSchema, ReservationSchema

blp = ApiBlueprint("parking_reservations", __name__, url_prefix="/parking", description="停车：车位预约与抽签")

_404 = {"schema": ErrorSchema, "description": "不存在或无权查看 (NOT_FOUND)"}


@blp.post("/reservations")
@blp.auth("staff")
@idempotent()
@blp.arguments(ReservationCreateSchema)
@blp.response(201, ReservationSchema)
@blp.alt_response(404, schema=ErrorSchema,
                  description="车辆不是本人的 (NOT_FOUND)、停车场不存在 (PARKING_LOT_NOT_FOUND)")
@blp.alt_response(409, schema=ErrorSchema, description="该时段已有预约 (PARKING_RESERVATION_EXISTS)")
@blp.alt_response(422, schema=ErrorSchema, description=(
    "无需预约的停车场 (PARKING_NOT_RESERVABLE)、日期无效 (PARKING_DAY_INVALID)、"
    "车位类型不符 (PARKING_KIND_NOT_ALLOWED)"))
def apply(body):
    """申请车位（全天或半天）：抽签前提交的等待前一天定时抽签；抽签后提交的有空位即预约成功，否则候补"""
    reservation = reservations.apply(current_principal(), body)
    db.session.commit()
    return reservation


@blp.get("/reservations")
@blp.auth("staff")
@blp.response(200, ReservationSchema(many=True))
def mine():
    """我的车位预约（最近 100 条）"""
    return reservations.my_reservations(current_principal())


@blp.get("/reservations/<int:reservation_id>")
@blp.auth("staff", "admin", "auditor")
@blp.response(200, ReservationSchema)
@blp.alt_response(404, **_404)
def get_reservation(reservation_id):
    """一条车位预约及其状态记录"""
    return reservations.get_reservation(current_principal(), reservation_id)


@blp.post("/reservations/<int:reservation_id>/cancel")
@blp.auth("staff", "admin")
@blp.response(200, ReservationSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="状态不允许取消 (INVALID_TRANSITION)")
def cancel(reservation_id):
    """取消预约；空出的车位按候补顺位自动给下一位"""
    reservation = reservations.cancel(current_principal(), reservation_id)
    db.session.commit()
    return reservation


@blp.get("/reservations/<int:reservation_id>/draw")
@blp.auth("staff", "admin", "auditor")
@blp.response(200, DrawSchema)
@blp.alt_response(404, **_404)
def draw(reservation_id):
    """本次抽签的公开记录：算法、随机种子、每位申请人的权重及原因、抽出顺序、中签与候补（不显示他人身份）"""
    actor = current_principal()
    record = reservations.draw_of(actor, reservation_id)
    mine = {a["reservation_id"] for a in record.applicants if a["user_id"] == actor.user_id}
    return {"id": record.id, "lot_id": record.lot_id, "day": record.day, "kind": record.kind,
            "algorithm": record.algorithm, "seed": record.seed, "supply": record.supply, "run_at": record.run_at,
            "applicants": [{**a, "mine": a["reservation_id"] in mine} for a in record.applicants],
            **{key: record.result[key] for key in ("order", "winners", "waitlist")}}
