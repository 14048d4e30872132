"""QR passes: short-lived signed tokens a holder shows and a scanning role verifies.

A token is compact, URL-safe text (it goes into a QR code):

    P1.<kid>.<purpose>.<order id>.<holder user id>.<state>.<expiry, unix seconds>.<signature>

The signature is HMAC-SHA256 (base64url, no padding) over everything before it, under the
key `kid` of the ring QR_SIGNING_KEYS ("kid:secret[,kid:secret...]": the first signs, every
listed one verifies; rotate by putting a new key first and dropping the old one after
QR_PASS_TTL_SECONDS). A pass lives QR_PASS_TTL_SECONDS (60) and the mini-program fetches a
new one before `refresh_after`, so a screenshot is useless; QR_PASS_SKEW_SECONDS (5)
tolerates clocks of different hosts.

A domain registers a purpose (`register_purpose`) with its Lifecycle, who may scan it and
`steps`: for each state in which a pass is shown, the transition a scan makes (visits:
approved → check_in, inside → check_out). The pass names the state it was issued in and a
scan makes only that state's step, so one screen scanned twice (or by two guards at once)
never makes two steps: what makes a scan count once is the order's own conditional
transition, and the second scan gets 409 INVALID_TRANSITION naming the state the order is
now in. A cancelled order's pass is refused the same way (INVALID_TRANSITION, «当前状态为
「已取消」»); a pass is not even issued outside the purpose's states (PASS_ORDER_NOT_ACTIVE).
Error codes (PASS_*) are registered in models/platform.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import marshmallow as ma
import qrcode
from flask import Response, current_app

from app.auth import Principal
from app.errors import AppError
from app.extensions import db
from app.lifecycle import Lifecycle
from app.schemas import LocalDateTime
from app.timeutil import local, utcnow
from models import User

VERSION = "P1"
NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
KID_RE = re.compile(r"[A-Za-z0-9_-]{1,16}")
TOKEN_RE = re.compile(r"P1\.([A-Za-z0-9_-]{1,16})\.([a-z][a-z0-9_]{0,31})\.(\d{1,18})\.(\d{1,18})"
                      r"\.([a-z][a-z0-9_]{0,31})\.(\d{1,12})\.([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class PassPurpose:
    name: str
    lifecycle: Lifecycle
    steps: Mapping[str, str]
    can_scan: Callable[[Principal, Any], bool]
    label: str
    summary: Callable[[Any], dict] | None = None
    check: Callable[[Any, datetime], None] | None = None


PURPOSES: dict[str, PassPurpose] = {}


def register_purpose(name: str, lifecycle: Lifecycle, steps: Mapping[str, str],
                     can_scan: Callable[[Principal, Any], bool], label: str,
                     summary: Callable[[Any], dict] | None = None,
                     check: Callable[[Any, datetime], None] | None = None) -> PassPurpose:
    """Declare a pass purpose (at import of the domain). `can_scan(scanner, order)` says who
    may scan (roles and scope); `steps` maps a state to the transition a scan makes;
    `summary(order)` adds what the scanner should see (a dict, shown as `summary`);
    `check(order, now)` raises the domain's AppError when the pass is not valid now (a visit
    outside its window): called before issuing and before a scan's step."""
    problems = []
    if not NAME_RE.fullmatch(name) or name in PURPOSES:
        problems.append("the name must be new and match [a-z][a-z0-9_]{0,31}")
    for state, transition in steps.items():
        t = lifecycle.transitions.get(transition)
        if not NAME_RE.fullmatch(state) or t is None or state not in t.source:
            problems.append(f"step {state!r} → {transition!r} is not a transition from that state")
    if not steps or problems:
        raise ValueError(f"pass purpose {name!r}: " + ("; ".join(problems) or "no steps"))
    purpose = PURPOSES[name] = PassPurpose(name, lifecycle, dict(steps), can_scan, label, summary, check)
    return purpose


# --- tokens ------------------------------------------------------------------------------

def _key_ring() -> tuple[str, dict[str, bytes]]:
    keys: dict[str, bytes] = {}
    for part in (p.strip() for p in current_app.config["QR_SIGNING_KEYS"].split(",")):
        kid, _, secret = part.partition(":")
        if not KID_RE.fullmatch(kid) or len(secret) < 16:
            raise ValueError("QR_SIGNING_KEYS entries must be kid:secret (kid [A-Za-z0-9_-]{1,16}, secret 16+ chars)")
        keys[kid] = secret.encode()
    return next(iter(keys)), keys


def _signature(key: bytes, message: str) -> str:
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue(purpose: PassPurpose | str, order, holder: Principal, now: datetime | None = None) -> dict:
    """A pass for `holder`'s `order`: {token, expires_at, refresh_after}. NOT_FOUND unless the
    holder owns the order; PASS_ORDER_NOT_ACTIVE unless the order is in one of the steps' states."""
    purpose = PURPOSES[purpose] if isinstance(purpose, str) else purpose
    lifecycle = purpose.lifecycle
    if lifecycle.owner_of(order) != holder.user_id:
        raise AppError("NOT_FOUND")
    state = lifecycle.state_of(order)
    if state not in purpose.steps:
        raise AppError("PASS_ORDER_NOT_ACTIVE", f"当前状态为「{lifecycle.label(state)}」，无需出示{purpose.label}",
                       details={"current": state, "current_label": lifecycle.label(state)})
    now = now or utcnow()
    if purpose.check is not None:
        purpose.check(order, now)
    ttl = current_app.config["QR_PASS_TTL_SECONDS"]
    expires = math.ceil(now.timestamp()) + ttl
    kid, keys = _key_ring()
    message = f"{VERSION}.{kid}.{purpose.name}.{order.id}.{holder.user_id}.{state}.{expires}"
    return {"token": f"{message}.{_signature(keys[kid], message)}",
            "expires_at": datetime.fromtimestamp(expires, UTC),
            "refresh_after": now + timedelta(seconds=max(ttl // 2, ttl - 20))}


@dataclass(frozen=True)
class Claims:
    purpose: str
    order_id: int
    holder_id: int
    state: str
    expires_at: datetime


def read(token: str, now: datetime | None = None) -> Claims:
    """The claims of a genuine, unexpired token; PASS_INVALID / PASS_EXPIRED otherwise."""
    token = token.strip()
    match = TOKEN_RE.fullmatch(token)
    if match is None:
        raise AppError("PASS_INVALID", details={"reason": "format"})
    kid, purpose, order_id, holder_id, state, expires, signature = match.groups()
    key = _key_ring()[1].get(kid)
    if key is None:
        raise AppError("PASS_INVALID", details={"reason": "key"})
    if not hmac.compare_digest(signature, _signature(key, token.rpartition(".")[0])):
        raise AppError("PASS_INVALID", details={"reason": "signature"})
    if (now or utcnow()).timestamp() > int(expires) + current_app.config["QR_PASS_SKEW_SECONDS"]:
        raise AppError("PASS_EXPIRED")
    return Claims(purpose, int(order_id), int(holder_id), state, datetime.fromtimestamp(int(expires), UTC))


def scan(scanner: Principal, token: str, now: datetime | None = None) -> dict:
    """Verify a pass and make its step (the caller commits). PASS_INVALID / PASS_EXPIRED,
    NOT_FOUND (order gone), FORBIDDEN (scanner may not scan it), INVALID_TRANSITION (the
    order left the pass's state: already scanned, cancelled...)."""
    claims = read(token, now)
    purpose = PURPOSES.get(claims.purpose)
    if purpose is None:
        raise AppError("PASS_INVALID", details={"reason": "purpose"})
    lifecycle = purpose.lifecycle
    order = db.session.get(lifecycle.model, claims.order_id)
    if order is None:
        raise AppError("NOT_FOUND")
    if not purpose.can_scan(scanner, order):
        raise AppError("FORBIDDEN", details={"purpose": purpose.name})
    if lifecycle.owner_of(order) != claims.holder_id:
        raise AppError("PASS_INVALID", details={"reason": "holder"})
    step = purpose.steps.get(claims.state)
    if step is None:
        raise AppError("PASS_INVALID", details={"reason": "state"})
    if purpose.check is not None and lifecycle.state_of(order) == claims.state:
        purpose.check(order, now or utcnow())
    lifecycle.transition(order, step, scanner, note=f"扫描{purpose.label}", only_from=(claims.state,))
    holder = db.session.get(User, claims.holder_id)
    state = lifecycle.state_of(order)
    return {"purpose": purpose.name, "order_type": lifecycle.order_type, "order_id": order.id,
            "transition": step, "transition_label": lifecycle.transitions[step].label,
            "from_state": claims.state, "state": state, "state_label": lifecycle.label(state),
            "holder": {"id": claims.holder_id, "name": holder.name if holder else None},
            "summary": purpose.summary(order) if purpose.summary else {}}


# --- HTTP helpers ------------------------------------------------------------------------

def render_png(token: str) -> bytes:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    qr.add_data(token)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image().save(buffer)
    return buffer.getvalue()


def pass_response(purpose: PassPurpose | str, order, holder: Principal, fmt: str = "json"):
    """The answer of a domain's `GET .../{id}/pass` (decorated with
    `@blp.arguments(PassArgs, location="query")` and `@blp.response(200, PassSchema)`):
    JSON {token, expires_at, refresh_after}, or with ?format=png the QR code itself
    (header X-Pass-Expires-At). Never cached."""
    issued = issue(purpose, order, holder)
    headers = {"Cache-Control": "no-store"}
    if fmt == "png":
        headers["X-Pass-Expires-At"] = local(issued["expires_at"]).isoformat()
        return Response(render_png(issued["token"]), mimetype="image/png", headers=headers)
    return issued, headers


class PassArgs(ma.Schema):
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(["json", "png"]),
                              metadata={"description": "json（默认）或 png（二维码图片）"})


class PassSchema(ma.Schema):
    token = ma.fields.String(required=True, metadata={"description": "放入二维码的凭证文本"})
    expires_at = LocalDateTime(required=True)
    refresh_after = LocalDateTime(required=True, metadata={"description": "此时间后小程序应获取新凭证"})


# The 200 image/png alternative of a pass route, for OpenAPI: `@blp.alt_response(200, **PNG_DOC)`.
PNG_DOC = {"content_type": "image/png", "schema": {"type": "string", "format": "binary"}, "success": True,
           "description": "?format=png：二维码 PNG 图片（X-Pass-Expires-At 为过期时间）"}
