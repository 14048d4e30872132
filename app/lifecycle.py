"""Order lifecycles: each order type's states, allowed transitions and who may make each,
declared once; every state change goes through `Lifecycle.transition`.

    MEAL = Lifecycle(
        order_type="meal_booking", model=MealBooking,   # model: id, status, user_id columns
        states={"booked": "已预订", "served": "已取餐", "cancelled": "已取消", "no_show": "未取餐"},
        transitions=[
            Transition("serve", source=("booked",), target="served", roles=("canteen_staff",), label="取餐核销",
                       authorize=lambda actor, o: actor.has_role("canteen_staff", "canteen", o.canteen_id)),
            Transition("cancel", source=("booked",), target="cancelled", roles=("owner", "admin"), label="取消"),
            Transition("mark_no_show", source=("booked",), target="no_show", roles=("system",), label="标记未取餐"),
        ])

    MEAL.record_creation(booking, actor)                      # first timeline row (from NULL)
    MEAL.transition(booking_id, "serve", actor, note=None, values={"served_at": utcnow()})
    MEAL.timeline(booking_id)                                 # -> list of dicts (TimelineSchema)

What other platform services need to know of an order type, declared with it:
- `title`: the service's Chinese name ("食堂报餐"), shown with ratings and follow-ups;
- `visible(actor, order) -> bool`: who may see the order (default: its owner, and whoever
  reads everything: admins, auditors); attachments bound to the order follow it;
- `rateable`: the finished states after which the owner may rate the order (none: the
  type is not rated); the finish time is the transition into one of them;
- `contractor(order) -> company id | None`: the contractor responsible for the order now
  (a rating records the one responsible when it is made).

Who may make a transition (`roles`): a role name (any scope; narrow it with `authorize`),
"owner" (the order's owner column, default user_id, is the actor) or "system" (the SYSTEM
actor sweeps use). `authorize(actor, order) -> bool`, when given, must also hold.

A transition is ONE conditional UPDATE (`UPDATE ... FROM (SELECT id, status AS old ... FOR
UPDATE) WHERE old IN (sources) RETURNING old`): of two concurrent moves one wins, the other
sees the new state and gets 409 INVALID_TRANSITION naming it. The transition row is added
to `order_transition` in the same transaction; the caller commits. Nothing here checks
visibility (staff see their own orders...): the domain service does that first.
INVALID_TRANSITION is registered with the platform's other codes in models/platform.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import marshmallow as ma
from blinker import Namespace
from sqlalchemy import func, select, update

from app.auth import Principal
from app.errors import AppError
from app.extensions import db
from app.schemas import LocalDateTime
from models import User
from models.platform import OrderTransition

# The actor of sweeps and jobs: its "system" role exists only here (role_grant cannot hold
# it), and its transitions are stored with actor_id NULL.
SYSTEM = Principal(user_id=0, name="系统", kind="system", company_id=None, department_id=None,
                   grants=(("system", "global", None),))
CREATE = "create"
CREATE_LABEL = "创建"

# Sent inside the transaction after every transition (not creation): receivers (points,
# notifications) do their part in the same transaction. Arguments: sender=lifecycle,
# order, transition (Transition), from_state, actor.
order_transitioned = Namespace().signal("order-transitioned")

LIFECYCLES: dict[str, Lifecycle] = {}


@dataclass(frozen=True)
class Transition:
    name: str
    source: tuple[str, ...]
    target: str
    roles: tuple[str, ...]
    label: str
    authorize: Callable[[Principal, Any], bool] | None = None


class Lifecycle:
    def __init__(self, order_type: str, model: type, states: Mapping[str, str],
                 transitions: Iterable[Transition], owner_column: str = "user_id",
                 status_column: str = "status", *, title: str = "",
                 visible: Callable[[Principal, Any], bool] | None = None,
                 rateable: tuple[str, ...] = (), contractor: Callable[[Any], int | None] | None = None):
        self.order_type, self.model, self.states = order_type, model, dict(states)
        self.owner_column, self.status_column = owner_column, status_column
        self.title, self.rateable = title or order_type, tuple(rateable)
        self._visible, self._contractor = visible, contractor
        transitions = list(transitions)
        self.transitions = {t.name: t for t in transitions}
        self._check(len(transitions))
        LIFECYCLES[order_type] = self

    def _check(self, declared: int) -> None:
        problems = [] if declared == len(self.transitions) else ["transition names repeat"]
        if self.order_type in LIFECYCLES or len(self.order_type) > 32:
            problems.append(f"order type {self.order_type!r} is taken or longer than 32")
        for column in ("id", self.owner_column, self.status_column):
            if not hasattr(self.model, column):
                problems.append(f"{self.model.__name__} has no column {column!r}")
        if isinstance(self.rateable, str) or set(self.rateable) - set(self.states):
            problems.append(f"rateable states {self.rateable!r} must be a tuple of known states")
        for state in self.states:
            if len(state) > 32:
                problems.append(f"state {state!r} is longer than 32")
        for t in self.transitions.values():
            unknown = [s for s in (*t.source, t.target) if s not in self.states]
            if unknown:
                problems.append(f"transition {t.name!r} names unknown states {unknown}")
            if not t.source or not t.roles or isinstance(t.source, str) or isinstance(t.roles, str):
                problems.append(f"transition {t.name!r} needs tuples of source states and roles")
            if t.name == CREATE or len(t.name) > 32:
                problems.append(f"transition name {t.name!r} is reserved or longer than 32")
        if problems:
            raise ValueError(f"lifecycle {self.order_type}: " + "; ".join(problems))

    # --- reading ---------------------------------------------------------------------------

    def label(self, state: str | None) -> str | None:
        return None if state is None else self.states.get(state, state)

    def owner_of(self, order) -> int | None:
        return getattr(order, self.owner_column)

    def state_of(self, order) -> str:
        return getattr(order, self.status_column)

    def is_visible(self, actor: Principal, order) -> bool:
        """Whether `actor` may see `order` (the type's `visible`, or owner and read-everything roles)."""
        if self._visible is not None:
            return bool(self._visible(actor, order))
        return self.owner_of(order) == actor.user_id or actor.reads_everything

    def contractor_of(self, order) -> int | None:
        """The company responsible for `order` now (None when the type names none)."""
        return None if self._contractor is None else self._contractor(order)

    def finished_at(self, order_id: int) -> datetime | None:
        """When the order last entered one of its `rateable` states (None: never, or not rated)."""
        if not self.rateable:
            return None
        return db.session.execute(
            select(func.max(OrderTransition.at))
            .where(OrderTransition.order_type == self.order_type, OrderTransition.order_id == order_id,
                   OrderTransition.to_state.in_(self.rateable))).scalar()

    def may(self, actor: Principal, order, name: str) -> bool:
        """Whether `actor` may make transition `name` on `order` (roles and authorize; not the state)."""
        t = self.transitions[name]
        allowed = any((role == "owner" and self.owner_of(order) == actor.user_id) or actor.has_role(role)
                      for role in t.roles)
        return allowed and (t.authorize is None or bool(t.authorize(actor, order)))

    def available(self, actor: Principal, order) -> list[str]:
        """Transitions `actor` may make now (for the buttons a client shows)."""
        return [n for n, t in self.transitions.items()
                if self.state_of(order) in t.source and self.may(actor, order, n)]

    def timeline(self, order_id: int) -> list[dict]:
        """The order's transitions, oldest first, with Chinese labels and actor names."""
        rows = db.session.execute(
            select(OrderTransition, User.name).outerjoin(User, User.id == OrderTransition.actor_id)
            .where(OrderTransition.order_type == self.order_type, OrderTransition.order_id == order_id)
            .order_by(OrderTransition.id)).all()
        return [{
            "at": row.at, "transition": row.transition,
            "transition_label": CREATE_LABEL if row.transition == CREATE
            else getattr(self.transitions.get(row.transition), "label", row.transition),
            "from_state": row.from_state, "from_label": self.label(row.from_state),
            "to_state": row.to_state, "to_label": self.label(row.to_state),
            "actor_id": row.actor_id, "actor_name": name if row.actor_id else SYSTEM.name, "note": row.note,
        } for row, name in rows]

    # --- writing ---------------------------------------------------------------------------

    def record_creation(self, order, actor: Principal, note: str | None = None) -> None:
        """The timeline's first row (from NULL to the order's initial state); flushes the order."""
        db.session.flush()
        self._record(order.id, None, self.state_of(order), CREATE, actor, note)

    def transition(self, order, name: str, actor: Principal, note: str | None = None,
                   values: Mapping[str, Any] | None = None, only_from: Iterable[str] | None = None):
        """Move `order` (an instance or an id) along transition `name`, setting `values`
        (other columns) with the state; returns the order. 404 NOT_FOUND for no such
        order, 403 FORBIDDEN for an actor without the right, 409 INVALID_TRANSITION when
        the current state is not one of the transition's sources (narrowed to `only_from`
        when given, e.g. the state a QR pass was issued in). The caller commits."""
        t = self.transitions[name]  # an unknown name is a programming error: KeyError
        sources = t.source if only_from is None else tuple(s for s in t.source if s in set(only_from))
        if not isinstance(order, self.model):
            order = db.session.get(self.model, order)
            if order is None:
                raise AppError("NOT_FOUND")
        if not self.may(actor, order, name):
            raise AppError("FORBIDDEN", details={"transition": name, "required_roles": list(t.roles)})
        model, status, order_id = self.model, getattr(self.model, self.status_column), order.id
        prev = select(model.id, status.label("old")).where(model.id == order_id).with_for_update().subquery("prev")
        old = db.session.execute(
            update(model).where(model.id == prev.c.id, prev.c.old.in_(sources))
            .values({**(values or {}), self.status_column: t.target})
            .returning(prev.c.old).execution_options(synchronize_session=False)).scalar()
        if old is None:
            current = db.session.execute(select(status).where(model.id == order_id)).scalar()
            if current is None:
                raise AppError("NOT_FOUND")
            raise AppError("INVALID_TRANSITION", f"当前状态为「{self.label(current)}」，不能{t.label}", details={
                "current": current, "current_label": self.label(current), "transition": name,
                "allowed_from": list(sources)})
        db.session.expire(order)  # reloaded with the new state on next access
        self._record(order_id, old, t.target, name, actor, note)
        order_transitioned.send(self, order=order, transition=t, from_state=old, actor=actor)
        return order

    def _record(self, order_id: int, from_state: str | None, to_state: str, name: str,
                actor: Principal, note: str | None) -> None:
        db.session.add(OrderTransition(
            order_type=self.order_type, order_id=order_id, from_state=from_state, to_state=to_state,
            transition=name, actor_id=actor.user_id or None,
            note=None if note is None else note[:200]))


class TimelineSchema(ma.Schema):
    """One row of an order's timeline (`Lifecycle.timeline`); use `TimelineField` in a domain schema."""

    at = LocalDateTime(required=True)
    transition = ma.fields.String(required=True, metadata={"description": "create, or a transition name"})
    transition_label = ma.fields.String(required=True, metadata={"example": "取餐核销"})
    from_state = ma.fields.String(allow_none=True, metadata={"description": "null for the creation"})
    from_label = ma.fields.String(allow_none=True)
    to_state = ma.fields.String(required=True)
    to_label = ma.fields.String(required=True, metadata={"example": "已取餐"})
    actor_id = ma.fields.Integer(allow_none=True, metadata={"description": "null: the system"})
    actor_name = ma.fields.String(required=True, metadata={"example": "系统"})
    note = ma.fields.String(allow_none=True)


class TimelineField(ma.fields.List):
    """An order schema's `timeline`: `timeline = TimelineField(MEAL)` (dump only, reads by obj.id)."""

    def __init__(self, lifecycle: Lifecycle, **kwargs):
        super().__init__(ma.fields.Nested(TimelineSchema), dump_only=True, **kwargs)
        self.lifecycle = lifecycle

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return self.lifecycle.timeline(obj.id)
