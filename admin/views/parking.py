"""停车管理 in the panel: lots (capacities per kind, mode, draw time), numbered spaces, staff vehicles, gate keys
(a new key's secret is shown once, then kept only encrypted), reservations, draws, gate
events and occupancy corrections (read-only records)."""

from __future__ import annotations

import secrets

from flask import flash
from sqlalchemy import select
from wtforms import SelectField

from admin.views.base import PanelModelView
from app import crypto
from app.extensions import db
from blueprints.parking.rules import GATE_SECRET_PURPOSE
from models.parking import (
    DIRECTIONS,
    GATE_REASONS,
    LOT_MODES,
    PERIODS,
    RESERVATION_STATES,
    SPACE_KINDS,
    GateEvent,
    GateKey,
    ParkingCorrection,
    ParkingDraw,
    ParkingLot,
    ParkingReservation,
    ParkingSpace,
    Vehicle,
)
from models.places import Place

CATEGORY = "停车管理"


def _label(mapping):
    return lambda view, context, model, name: mapping.get(getattr(model, name), getattr(model, name))


class LotView(PanelModelView):
    audit_name = "parking_lot"
    audit_value_fields = ("name", "mode", "staff_capacity", "visitor_capacity", "ev_capacity", "accessible_capacity",
                          "is_active")
    column_list = ["name", "place", "mode", "staff_capacity", "visitor_capacity", "ev_capacity",
                   "accessible_capacity", "is_active"]
    column_labels = {"name": "名称", "place": "地点", "mode": "通行方式", "staff_capacity": "员工车位",
                     "visitor_capacity": "访客车位", "ev_capacity": "充电车位", "accessible_capacity": "无障碍车位",
                     "grace_minutes": "预约入场宽限（分钟）", "draw_at": "抽签时间（前一天）",
                     "am_ends_at": "上午时段结束", "opens_at": "开放时间", "closes_at": "关闭时间", "is_active": "启用"}
    column_formatters = {"mode": _label(LOT_MODES)}
    form_columns = ["place", "name", "mode", "staff_capacity", "visitor_capacity", "ev_capacity",
                    "accessible_capacity", "grace_minutes", "draw_at", "am_ends_at", "opens_at", "closes_at",
                    "is_active"]
    form_overrides = {"mode": SelectField}
    form_args = {"mode": {"choices": list(LOT_MODES.items())},
                 "place": {"query_factory": lambda: db.session.execute(
                     select(Place).where(Place.kind == "area").order_by(Place.id)).scalars().all()}}


class SpaceView(PanelModelView):
    audit_name = "parking_space"
    audit_value_fields = ("lot_id", "number", "kind", "is_active")
    column_list = ["lot_id", "number", "kind", "is_active"]
    column_labels = {"lot_id": "停车场", "lot": "停车场", "number": "车位号", "kind": "类型", "is_active": "启用"}
    column_formatters = {"kind": _label(SPACE_KINDS)}
    column_searchable_list = ["number"]
    form_columns = ["lot", "number", "kind", "is_active"]
    form_overrides = {"kind": SelectField}
    form_args = {"kind": {"choices": list(SPACE_KINDS.items())}}


class VehicleView(PanelModelView):
    audit_name = "vehicle"
    allow_create = False
    allow_edit = False
    column_list = ["plate", "plate_kind", "user", "is_ev", "needs_accessible", "is_active", "created_at"]
    column_labels = {"plate": "车牌", "plate_kind": "类型", "user": "登记人", "is_ev": "新能源",
                     "needs_accessible": "无障碍", "is_active": "在用", "created_at": "登记时间"}
    column_searchable_list = ["plate"]
    column_filters = ["is_active", "is_ev"]
    column_default_sort = ("created_at", True)


class GateKeyView(PanelModelView):
    audit_name = "gate_key"
    audit_value_fields = ("name", "lot_id", "direction", "is_active")
    column_list = ["name", "key_id", "lot", "direction", "is_active", "last_seen_at"]
    column_labels = {"name": "名称", "key_id": "密钥编号", "lot": "停车场", "direction": "方向（不选为出入）",
                     "is_active": "启用", "last_seen_at": "最近请求"}
    column_formatters = {"direction": _label(DIRECTIONS)}
    form_columns = ["lot", "name", "direction", "is_active"]
    form_overrides = {"direction": SelectField}
    form_args = {"direction": {"choices": [("", "出入")] + list(DIRECTIONS.items())}}

    def validate_change(self, form, model, is_created):
        model.direction = model.direction or None
        if is_created:
            secret = secrets.token_urlsafe(32)
            model.key_id = f"gate-{secrets.token_hex(6)}"
            model.secret_enc = crypto.encrypt(secret, GATE_SECRET_PURPOSE)
            flash(f"道闸密钥已生成，仅显示这一次，请配置到道闸：编号 {model.key_id}，密钥 {secret}", "warning")


class ReservationView(PanelModelView):
    audit_name = "parking_reservation"
    allow_create = False
    allow_edit = False
    column_list = ["day", "period", "lot", "kind", "plate", "user", "visit_id", "status", "waitlist_rank"]
    column_labels = {"day": "日期", "period": "时段", "lot": "停车场", "kind": "车位类型", "plate": "车牌",
                     "user": "申请人", "visit_id": "访客预约", "status": "状态", "waitlist_rank": "候补顺位"}
    column_formatters = {"period": _label(PERIODS), "kind": _label(SPACE_KINDS), "status": _label(RESERVATION_STATES)}
    column_searchable_list = ["plate"]
    column_filters = ["day", "status"]
    column_default_sort = ("day", True)


class DrawView(PanelModelView):
    audit_name = "parking_draw"
    allow_create = False
    allow_edit = False
    column_list = ["day", "period", "lot_id", "kind", "supply", "algorithm", "seed", "run_at"]
    column_labels = {"day": "日期", "period": "时段", "lot_id": "停车场", "kind": "车位类型", "supply": "车位数",
                     "algorithm": "算法", "seed": "随机种子", "run_at": "抽签时间", "applicants": "申请人及权重",
                     "result": "结果"}
    column_formatters = {"period": _label(PERIODS), "kind": _label(SPACE_KINDS)}
    column_default_sort = ("day", True)


class GateEventView(PanelModelView):
    audit_name = "gate_event"
    allow_create = False
    allow_edit = False
    column_list = ["occurred_at", "lot_id", "plate", "direction", "opened", "reason", "offline"]
    column_labels = {"occurred_at": "时间", "lot_id": "停车场", "plate": "车牌", "direction": "方向",
                     "opened": "放行", "reason": "原因", "offline": "离线补传"}
    column_formatters = {"direction": _label(DIRECTIONS), "reason": _label(GATE_REASONS)}
    column_searchable_list = ["plate"]
    column_filters = ["opened", "direction", "reason"]
    column_default_sort = ("occurred_at", True)


class CorrectionView(PanelModelView):
    audit_name = "parking_correction"
    allow_create = False
    allow_edit = False
    column_list = ["at", "lot_id", "occupied_before", "occupied_after", "reason", "actor_id"]
    column_labels = {"at": "时间", "lot_id": "停车场", "occupied_before": "校正前", "occupied_after": "校正后",
                     "reason": "原因", "actor_id": "操作人（空为夜间对账）"}
    column_default_sort = ("at", True)


def add_views(admin) -> None:
    admin.add_view(LotView(ParkingLot, name="停车场", category=CATEGORY, endpoint="parking_lot", url="parking-lots"))
    admin.add_view(SpaceView(ParkingSpace, name="编号车位", category=CATEGORY, endpoint="parking_space",
                             url="parking-spaces"))
    admin.add_view(VehicleView(Vehicle, name="员工车辆", category=CATEGORY, endpoint="vehicle", url="vehicles"))
    admin.add_view(ReservationView(ParkingReservation, name="车位预约", category=CATEGORY,
                                   endpoint="parking_reservation", url="parking-reservations"))
    admin.add_view(DrawView(ParkingDraw, name="抽签记录", category=CATEGORY, endpoint="parking_draw",
                            url="parking-draws"))
    admin.add_view(GateKeyView(GateKey, name="道闸密钥", category=CATEGORY, endpoint="gate_key", url="gate-keys"))
    admin.add_view(GateEventView(GateEvent, name="出入记录", category=CATEGORY, endpoint="gate_event",
                                 url="gate-events"))
    admin.add_view(CorrectionView(ParkingCorrection, name="在场数校正", category=CATEGORY,
                                  endpoint="parking_correction", url="parking-corrections"))
