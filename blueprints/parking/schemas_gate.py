"""Schemas of the gate API."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.schemas import LocalDateTime
from models.parking import DIRECTIONS, GATE_REASONS, WHITELIST_ACTIONS

_REASONS_DOC = "；".join(f"{k}：{v}" for k, v in GATE_REASONS.items())


class GateEventSchema(ma.Schema):
    event_id = ma.fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.:-]{1,64}$"),
                                metadata={"description": "道闸自己的事件编号（重发同一事件时不变，据此去重）",
                                          "example": "east-in-000123"})
    plate = ma.fields.String(required=True, validate=validate.Length(min=1, max=20), metadata={"example": "京A12345"})
    direction = ma.fields.String(required=True, validate=validate.OneOf(list(DIRECTIONS)),
                                 metadata={"description": "in 入场，out 出场"})
    occurred_at = LocalDateTime(required=True, metadata={"description": "道闸记录的时间（带时区）"})
    offline = ma.fields.Boolean(load_default=False, metadata={
        "description": "断网期间道闸按白名单自行决定、事后补传的事件（须同时给出 opened）"})
    opened = ma.fields.Boolean(load_default=None, allow_none=True, metadata={"description": "离线事件：道闸是否已放行"})

    @ma.validates_schema
    def _offline_decision(self, data, **kwargs):
        if data.get("offline") and data.get("opened") is None:
            raise ma.ValidationError("离线补传的事件须给出 opened", "opened")


class GateDecisionSchema(ma.Schema):
    event_id = ma.fields.String(required=True)
    plate = ma.fields.String(required=True, metadata={"description": "规范化后的车牌"})
    direction = ma.fields.String(required=True)
    opened = ma.fields.Boolean(required=True, metadata={"description": "是否抬杆"})
    reason = ma.fields.String(required=True, metadata={"description": _REASONS_DOC})
    reason_label = ma.fields.Function(lambda e: GATE_REASONS[e["reason"]], required=True,
                                      metadata={"type": "string"})
    offline = ma.fields.Boolean(required=True)
    replayed = ma.fields.Boolean(required=True, metadata={"description": "重发的事件：返回当初的决定，不再计数"})
    occupancy = ma.fields.Integer(required=True, metadata={"description": "该停车场当前在场车辆数"})


class WhitelistArgs(ma.Schema):
    since = ma.fields.Integer(load_default=0, validate=validate.Range(min=0), metadata={
        "description": "上次同步到的版本号（首次为 0）"})
    limit = ma.fields.Integer(load_default=1000, validate=validate.Range(min=1, max=5000))


class WhitelistChangeSchema(ma.Schema):
    version = ma.fields.Integer(required=True, attribute="id")
    plate = ma.fields.String(required=True)
    action = ma.fields.String(required=True, metadata={"description": ", ".join(WHITELIST_ACTIONS)})
    valid_from = LocalDateTime(allow_none=True, required=True)
    valid_until = LocalDateTime(allow_none=True, required=True)


class WhitelistPageSchema(ma.Schema):
    version = ma.fields.Integer(required=True, metadata={"description": "下次同步时作为 since 传回"})
    more = ma.fields.Boolean(required=True, metadata={"description": "是否还有更多变更（立即再次请求）"})
    changes = ma.fields.List(ma.fields.Nested(WhitelistChangeSchema), required=True)
