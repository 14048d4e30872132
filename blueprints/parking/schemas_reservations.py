"""Schemas of reservations and draws."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.auth import current_principal_or_none
from app.lifecycle import TimelineField
from app.schemas import BusinessDate, Id, LocalDateTime
from blueprints.parking.rules import PARKING
from models.parking import PERIODS, RESERVATION_STATES, SPACE_KINDS


class ReservationCreateSchema(ma.Schema):
    lot_id = Id(required=True)
    vehicle_id = Id(required=True, metadata={"description": "本人登记的车辆"})
    day = BusinessDate(required=True)
    period = ma.fields.String(load_default="day", validate=validate.OneOf(list(PERIODS)),
                              metadata={"description": "day 全天，am 上午，pm 下午"})
    kind = ma.fields.String(load_default="staff", validate=validate.OneOf(["staff", "ev", "accessible"]),
                            metadata={"description": "staff 员工车位，ev 充电车位（新能源车），accessible 无障碍车位"})


class ReservationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    lot_id = ma.fields.Integer(required=True)
    lot_name = ma.fields.String(required=True, attribute="lot.name")
    plate = ma.fields.String(required=True)
    day = ma.fields.Date(required=True)
    period = ma.fields.String(required=True)
    period_label = ma.fields.Function(lambda r: PERIODS[r.period], required=True, metadata={"type": "string"})
    kind = ma.fields.String(required=True)
    kind_label = ma.fields.Function(lambda r: SPACE_KINDS[r.kind], required=True, metadata={"type": "string"})
    starts_at = LocalDateTime(required=True)
    ends_at = LocalDateTime(required=True)
    status = ma.fields.String(required=True, metadata={"description": ", ".join(RESERVATION_STATES)})
    status_label = ma.fields.Function(lambda r: RESERVATION_STATES[r.status], required=True,
                                      metadata={"type": "string"})
    space_number = ma.fields.Function(lambda r: r.space.number if r.space else None, required=True, metadata={
        "type": "string", "nullable": True, "description": "分配的车位号（停车场有编号车位时）"})
    waitlist_rank = ma.fields.Integer(allow_none=True, required=True, metadata={"description": "候补顺位"})
    draw_id = ma.fields.Integer(allow_none=True, required=True)
    available_transitions = ma.fields.Function(
        lambda r: [t for t in PARKING.available(current_principal_or_none(), r)] if current_principal_or_none() else [],
        required=True, metadata={"type": "array", "items": {"type": "string"}})
    timeline = TimelineField(PARKING)


class DrawApplicantSchema(ma.Schema):
    reservation_id = ma.fields.Integer(required=True)
    weight = ma.fields.Float(required=True)
    reasons = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "权重调整的原因"})
    mine = ma.fields.Boolean(required=True, metadata={"description": "是否本人的申请"})


class DrawSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    lot_id = ma.fields.Integer(required=True)
    day = ma.fields.Date(required=True)
    kind = ma.fields.String(required=True)
    algorithm = ma.fields.String(required=True, metadata={
        "description": "weighted-es-v1：按权重的无放回随机抽样（Efraimidis–Spirakis），"
                       "随机数取自以种子初始化的 Python random.Random，按申请编号顺序"})
    seed = ma.fields.String(required=True, metadata={"description": "随机种子（十六进制），可据此复算"})
    supply = ma.fields.Integer(required=True)
    applicants = ma.fields.List(ma.fields.Nested(DrawApplicantSchema), required=True)
    order = ma.fields.List(ma.fields.Integer(), required=True, metadata={"description": "抽出的顺序（申请编号）"})
    winners = ma.fields.List(ma.fields.Integer(), required=True)
    waitlist = ma.fields.List(ma.fields.Integer(), required=True)
    run_at = LocalDateTime(required=True)
