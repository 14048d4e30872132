"""Schemas of lots, occupancy and usage."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.schemas import BusinessDate, LocalDateTime, Trimmed
from models.parking import LOT_MODES, SPACE_KINDS


class LotSchema(ma.Schema):
    id = ma.fields.Integer(required=True, attribute="lot.id")
    name = ma.fields.String(required=True, attribute="lot.name")
    place_id = ma.fields.Integer(required=True, attribute="lot.place_id")
    location = ma.fields.String(required=True, attribute="lot.place.path",
                                metadata={"example": "行政中心主楼 / 地下停车场"})
    mode = ma.fields.String(required=True, attribute="lot.mode", metadata={"description": ", ".join(LOT_MODES)})
    mode_label = ma.fields.Function(lambda v: LOT_MODES[v["lot"].mode], required=True, metadata={"type": "string"})
    capacities = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True, metadata={
        "description": "各类车位数：" + "，".join(f"{k} {v}" for k, v in SPACE_KINDS.items())})
    capacity = ma.fields.Integer(required=True, metadata={"description": "车位总数"})
    occupied = ma.fields.Integer(required=True, metadata={"description": "当前在场车辆数"})
    free = ma.fields.Integer(required=True, metadata={"description": "当前空余车位数"})


class OccupancyCorrectionSchema(ma.Schema):
    occupied = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=100000),
                                 metadata={"description": "清点的在场车辆数"})
    reason = Trimmed(required=True, validate=validate.Length(min=1, max=200, error="请填写 1–200 字的原因"),
                     metadata={"example": "早班清点"})


class UsageArgs(ma.Schema):
    date_from = BusinessDate(required=True)
    date_to = BusinessDate(required=True, metadata={"description": "截止日期（含；最长 366 天）"})


class UsageDaySchema(ma.Schema):
    day = ma.fields.Date(required=True)
    entries = ma.fields.Integer(required=True, metadata={"description": "放行入场次数"})
    exits = ma.fields.Integer(required=True, metadata={"description": "出场次数"})
    refused = ma.fields.Integer(required=True, metadata={"description": "拒绝入场次数"})
    vehicles = ma.fields.Integer(required=True, metadata={"description": "入场的不同车辆数"})


class UsageSchema(LotSchema):
    date_from = ma.fields.Date(required=True)
    date_to = ma.fields.Date(required=True)
    days = ma.fields.List(ma.fields.Nested(UsageDaySchema), required=True)
    entry_reasons = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True,
                                   metadata={"description": "入场事件按原因计数（含拒绝）"})


class VisitorAvailabilityArgs(ma.Schema):
    starts_at = LocalDateTime(required=True)
    ends_at = LocalDateTime(required=True)

    @ma.validates_schema
    def _range(self, data, **kwargs):
        if data["ends_at"] <= data["starts_at"]:
            raise ma.ValidationError("结束时间须晚于开始时间", "ends_at")


class VisitorAvailabilitySchema(ma.Schema):
    lot_id = ma.fields.Integer(required=True, attribute="lot.id")
    lot_name = ma.fields.String(required=True, attribute="lot.name")
    capacity = ma.fields.Integer(required=True, metadata={"description": "访客车位数"})
    free = ma.fields.Integer(required=True, metadata={"description": "该时段仍可预留的访客车位数"})
