"""Schemas of staff vehicles."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.schemas import Id, LocalDateTime
from blueprints.parking.plates import PLATE_KINDS


class VehicleCreateSchema(ma.Schema):
    plate = ma.fields.String(required=True, validate=validate.Length(min=1, max=20),
                             metadata={"description": "车牌号（空格、点号可有可无，字母大小写均可）",
                                       "example": "京A12345"})
    is_ev = ma.fields.Boolean(load_default=False, metadata={"description": "是否新能源车（可申请充电车位）"})
    needs_accessible = ma.fields.Boolean(load_default=False, metadata={"description": "是否需要无障碍车位"})


class VehicleListArgs(ma.Schema):
    user_id = Id(load_default=None, metadata={"description": "管理员、审计员：查看某人的车辆"})


class VehicleSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    user_id = ma.fields.Integer(required=True)
    plate = ma.fields.String(required=True, metadata={"example": "京A12345"})
    plate_kind = ma.fields.String(required=True, metadata={"description": ", ".join(PLATE_KINDS)})
    plate_kind_label = ma.fields.Function(lambda v: PLATE_KINDS.get(v.plate_kind, v.plate_kind), required=True,
                                          metadata={"type": "string", "example": "普通车牌"})
    is_ev = ma.fields.Boolean(required=True)
    needs_accessible = ma.fields.Boolean(required=True)
    created_at = LocalDateTime(required=True)
