"""Parking's shared rules: the reservation lifecycle `PARKING`, the draw algorithm, and the
gate request signature.

Reservations (models/parking.py RESERVATION_STATES): a staff member applies for a space of a
kind in a `reservation` lot for a day or half day (`applied`); while supply lasts before the
draw, or in an `open` lot, it is `reserved` at once. The draw (`run_draw`) turns the applied
ones into `reserved` (winners) and `waitlisted` (the rest, in drawn order); a cancellation
promotes the first of the waitlist. A visit with a plate holds a visitor space (`reserved`,
`visit_id` set) and loses it (`revoked`) when the visit is cancelled, rejected or expires.
The gate moves `reserved` → `entered` → `completed`; a reservation not entered by its start
plus the lot's grace is a `no_show`.

The draw (`draw(seed, applicants, supply)`): weighted random sampling without replacement
(Efraimidis and Spirakis 2006): each applicant gets the key u ** (1 / weight) with u drawn
in order from `random.Random(int(seed, 16))` over the applicants sorted by reservation id;
the highest keys win, the rest form the waitlist in key order. Everything it reads (seed,
weights, order) is stored with the result, so anyone can rerun it and get the same answer.
Weights: 1.0, halved for each win in the last PARKING_DRAW_LOOKBACK_DAYS (fewer recent wins
draw better), doubled for an EV driver applying for a charging space (reasons stored).

Gate requests are signed (`verify_signature`): headers X-Gate-Key (the key id),
X-Gate-Timestamp (unix seconds, within PARKING_GATE_SKEW_SECONDS of the server's clock),
X-Gate-Nonce (16-64 of [A-Za-z0-9_-], accepted once per key) and X-Gate-Signature, the
lowercase hex HMAC-SHA256 under the key's secret of
`METHOD \\n PATH \\n TIMESTAMP \\n NONCE \\n hex SHA-256 of the body`.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app import crypto
from app.errors import AppError, register_codes
from app.extensions import db, violated_constraint
from app.lifecycle import Lifecycle, Transition
from app.timeutil import utcnow
from models.parking import RESERVATION_STATES, GateKey, GateNonce, ParkingReservation

register_codes({
    "PARKING_LOT_NOT_FOUND": (404, "停车场不存在", "Parking: no such (active) lot."),
    "PARKING_GATE_UNKNOWN": (401, "道闸未登记或已停用", "Gate API: X-Gate-Key names no active gate."),
    "PARKING_SIGNATURE_INVALID": (401, "道闸请求签名无效", "Gate API: missing or malformed signature headers, "
                                                     "or an HMAC that does not verify (`details.reason`)."),
    "PARKING_TIMESTAMP_STALE": (401, "道闸请求时间戳超出允许范围",
                                "Gate API: X-Gate-Timestamp further than PARKING_GATE_SKEW_SECONDS from "
                                "the server's clock (`details.skew_seconds`)."),
    "PARKING_REPLAYED": (409, "重复的道闸请求", "Gate API: this nonce was already used with this key."),
})

DRAW_ALGORITHM = "weighted-es-v1"
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
SIGNATURE_RE = re.compile(r"[0-9a-f]{64}")


def _owner_or_admin(actor, reservation: ParkingReservation) -> bool:
    return actor.user_id == reservation.user_id or actor.is_admin


PARKING = Lifecycle(
    order_type="parking_reservation", model=ParkingReservation, states=RESERVATION_STATES,
    transitions=[
        Transition("win", source=("applied",), target="reserved", roles=("system",), label="中签"),
        Transition("lose", source=("applied",), target="lost", roles=("system",), label="未中签"),
        Transition("waitlist", source=("applied",), target="waitlisted", roles=("system",), label="进入候补"),
        Transition("promote", source=("waitlisted",), target="reserved", roles=("system",), label="候补转正"),
        Transition("cancel", source=("applied", "reserved", "waitlisted"), target="cancelled",
                   roles=("staff", "admin"), label="取消", authorize=_owner_or_admin),
        Transition("revoke", source=("applied", "reserved", "waitlisted"), target="revoked", roles=("system",),
                   label="随访客预约撤销"),
        Transition("enter", source=("reserved",), target="entered", roles=("system",), label="入场"),
        Transition("exit", source=("entered",), target="completed", roles=("system",), label="离场"),
        Transition("mark_no_show", source=("reserved",), target="no_show", roles=("system",),
                   label="未按时入场"),
    ],
    title="停车预约",
)


# --- the draw -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Applicant:
    reservation_id: int
    user_id: int | None
    weight: float
    reasons: tuple[str, ...] = ()


def draw(seed: str, applicants: Sequence[Applicant], supply: int) -> dict:
    """{"winners": [...], "waitlist": [...]} (reservation ids in order), a pure function of
    the seed (hex), the applicants (read in reservation-id order) and the supply."""
    rng = random.Random(int(seed, 16))
    keyed = []
    for applicant in sorted(applicants, key=lambda a: a.reservation_id):
        if applicant.weight <= 0:
            raise ValueError("weights must be positive")
        u = rng.random() or 1e-300  # random() is in [0, 1): never raise 0 to a power
        keyed.append((u ** (1.0 / applicant.weight), applicant.reservation_id))
    ordered = [rid for _, rid in sorted(keyed, key=lambda k: (-k[0], k[1]))]
    return {"winners": ordered[:supply], "waitlist": ordered[supply:]}


# --- gate signatures ------------------------------------------------------------------------

def canonical_request(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join((method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()))


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The X-Gate-Signature a gate sends (also what tests and the benchmark use)."""
    message = canonical_request(method, path, timestamp, nonce, body).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(secret: str, signature: str, method: str, path: str, timestamp: str, nonce: str,
                      body: bytes) -> bool:
    return hmac.compare_digest(sign(secret, method, path, timestamp, nonce, body), signature)


GATE_SECRET_PURPOSE = "gate_key.secret"  # noqa: S105  (the ciphertext's purpose label, not a secret)


def _header(headers, name: str, pattern: re.Pattern | None = None) -> str:
    value = (headers.get(name) or "").strip()
    if not value or (pattern is not None and not pattern.fullmatch(value)):
        raise AppError("PARKING_SIGNATURE_INVALID", details={"reason": f"header {name}"})
    return value


def authenticate_gate(method: str, path: str, headers, body: bytes, now: datetime | None = None) -> GateKey:
    """The active gate key that signed this request (see the module's docstring), its nonce
    recorded in the caller's transaction; 401 PARKING_GATE_UNKNOWN / PARKING_SIGNATURE_INVALID /
    PARKING_TIMESTAMP_STALE, 409 PARKING_REPLAYED. Checks in that order, so a stale or
    unsigned request never touches the nonce table."""
    key_id = _header(headers, "X-Gate-Key", re.compile(r"[A-Za-z0-9_-]{1,32}"))
    timestamp = _header(headers, "X-Gate-Timestamp", re.compile(r"\d{1,12}"))
    nonce = _header(headers, "X-Gate-Nonce", NONCE_RE)
    signature = _header(headers, "X-Gate-Signature", SIGNATURE_RE)
    gate = db.session.execute(select(GateKey).where(GateKey.key_id == key_id)).scalar()
    if gate is None or not gate.is_active:
        raise AppError("PARKING_GATE_UNKNOWN")
    secret = crypto.decrypt(gate.secret_enc, GATE_SECRET_PURPOSE)
    if not signature_matches(secret, signature, method, path, timestamp, nonce, body):
        raise AppError("PARKING_SIGNATURE_INVALID", details={"reason": "signature"})
    now = now or utcnow()
    skew = int(timestamp) - int(now.timestamp())
    allowed = current_app.config["PARKING_GATE_SKEW_SECONDS"]
    if abs(skew) > allowed:
        raise AppError("PARKING_TIMESTAMP_STALE", details={"skew_seconds": skew, "allowed_seconds": allowed})
    try:
        with db.session.begin_nested():
            db.session.add(GateNonce(gate_key_id=gate.id, nonce=nonce))
    except IntegrityError as exc:
        if violated_constraint(exc) != "uq_gate_nonce_gate_key_id_nonce":
            raise
        raise AppError("PARKING_REPLAYED") from None
    gate.last_seen_at = now
    return gate


def purge_nonces(now: datetime | None = None) -> int:
    """Delete nonces older than twice the timestamp window (a replay of one is stale anyway)."""
    cutoff = (now or utcnow()) - timedelta(seconds=2 * current_app.config["PARKING_GATE_SKEW_SECONDS"])
    deleted = db.session.execute(delete(GateNonce).where(GateNonce.seen_at < cutoff)).rowcount
    db.session.commit()
    return deleted
