"""A test-only order type that exercises the platform services the way a domain will: a
model on its OWN metadata (never migrated; the tests create and drop its table), a
Lifecycle, a QR pass purpose and a small blueprint (create idempotently, read, pass,
cancel, timeline). `register(app)` adds the blueprint to an app; tests/platform/liveapp.py
serves it with gunicorn.

Lifecycle (visitor-like, two scan steps): booked → inside (check_in, a guard of the order's
company) → done (check_out); booked → cancelled (owner or admin); booked → no_show (system).
"""

from __future__ import annotations

import time
from datetime import datetime

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import DateTime, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app import qrpass
from app.auth import ApiBlueprint, current_principal, ensure_visible
from app.errors import AppError
from app.extensions import db
from app.idempotency import idempotent
from app.lifecycle import Lifecycle, TimelineField, TimelineSchema, Transition


class SampleBase(DeclarativeBase):
    metadata = MetaData()


class SampleOrder(SampleBase):
    __tablename__ = "platform_sample_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int]
    company_id: Mapped[int | None]
    item: Mapped[str] = mapped_column(String(20))
    qty: Mapped[int]
    status: Mapped[str] = mapped_column(String(32), default="booked")
    entered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def guard_of(actor, order) -> bool:
    """A guard of the order's company (the scope check a domain makes)."""
    return actor.has_role("guard", "company", order.company_id)


SAMPLE = Lifecycle(
    order_type="sample", model=SampleOrder,
    states={"booked": "已预订", "inside": "在场", "done": "已离场", "cancelled": "已取消", "no_show": "未到场"},
    transitions=[
        Transition("check_in", source=("booked",), target="inside", roles=("guard",), label="入场核验",
                   authorize=guard_of),
        Transition("check_out", source=("inside",), target="done", roles=("guard",), label="离场核验",
                   authorize=guard_of),
        Transition("cancel", source=("booked",), target="cancelled", roles=("owner", "admin"), label="取消"),
        Transition("mark_no_show", source=("booked",), target="no_show", roles=("system",), label="标记未到场"),
    ],
    title="测试服务", rateable=("done",), contractor=lambda order: order.company_id,
    visible=lambda actor, order: (order.user_id == actor.user_id or actor.reads_everything
                                  or actor.has_role("guard", "company", order.company_id)))


def _can_scan(scanner, order) -> bool:
    if order.item == "slow":  # lets the live test hold every scanner here, so they race the update
        time.sleep(0.3)
    return guard_of(scanner, order)


PASS = qrpass.register_purpose("sample", SAMPLE, steps={"booked": "check_in", "inside": "check_out"},
                               can_scan=_can_scan, label="测试通行码",
                               summary=lambda order: {"item": order.item, "qty": order.qty})


# --- HTTP --------------------------------------------------------------------------------

blp = ApiBlueprint("platform_sample", __name__, url_prefix="/_sample", description="测试用订单")


class OrderBodySchema(ma.Schema):
    item = ma.fields.String(required=True, validate=validate.Length(min=1, max=20))
    qty = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=9))
    company_id = ma.fields.Integer(load_default=None)
    sleep = ma.fields.Float(load_default=0, validate=validate.Range(min=0, max=3))
    commit_itself = ma.fields.Boolean(load_default=False)


class OrderSchema(ma.Schema):
    id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    company_id = ma.fields.Integer(allow_none=True)
    item = ma.fields.String()
    qty = ma.fields.Integer()
    status = ma.fields.String()
    timeline = TimelineField(SAMPLE)


class CancelBodySchema(ma.Schema):
    note = ma.fields.String(load_default=None, validate=validate.Length(max=200))


def _create(body: dict) -> SampleOrder:
    principal = current_principal()
    sleep, commit_itself = body.pop("sleep"), body.pop("commit_itself")
    order = SampleOrder(user_id=principal.user_id, **body)
    db.session.add(order)
    SAMPLE.record_creation(order, principal)
    if order.item == "sold-out":  # a failure after writing: everything must roll back
        raise AppError("CONFLICT", "已售罄")
    time.sleep(sleep)
    if commit_itself:
        db.session.commit()
    return order


@blp.post("/orders")
@blp.auth()
@idempotent()
@blp.arguments(OrderBodySchema)
@blp.response(201, OrderSchema)
def create_order(body):
    """新建测试订单（幂等键可选）"""
    return _create(body)


@blp.post("/strict-orders")
@blp.auth()
@idempotent(required=True)
@blp.arguments(OrderBodySchema)
@blp.response(201, OrderSchema)
def create_strict_order(body):
    """新建测试订单（必须带幂等键）"""
    return _create(body)


def _visible(order_id: int) -> SampleOrder:
    principal, order = current_principal(), db.session.get(SampleOrder, order_id)
    ensure_visible(order is not None and (order.user_id == principal.user_id or principal.reads_everything))
    return order


@blp.get("/orders/<int:order_id>")
@blp.auth()
@blp.response(200, OrderSchema)
def get_order(order_id):
    """查看测试订单"""
    return _visible(order_id)


@blp.get("/orders/<int:order_id>/pass")
@blp.auth()
@blp.arguments(qrpass.PassArgs, location="query")
@blp.response(200, qrpass.PassSchema)
@blp.alt_response(200, **qrpass.PNG_DOC)
def get_pass(args, order_id):
    """测试订单的通行码"""
    return qrpass.pass_response(PASS, _visible(order_id), current_principal(), args["format"])


@blp.post("/orders/<int:order_id>/cancel")
@blp.auth()
@blp.arguments(CancelBodySchema)
@blp.response(200, OrderSchema)
def cancel_order(body, order_id):
    """取消测试订单"""
    order = SAMPLE.transition(_visible(order_id), "cancel", current_principal(), note=body["note"])
    db.session.commit()
    return order


@blp.get("/orders/<int:order_id>/timeline")
@blp.auth()
@blp.response(200, TimelineSchema(many=True))
def order_timeline(order_id):
    """测试订单的时间线"""
    return SAMPLE.timeline(_visible(order_id).id)


def register(app) -> None:
    app.extensions["api"].register_blueprint(blp, url_prefix="/api/v1" + blp.url_prefix)
