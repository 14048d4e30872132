"""Platform mechanisms shared by every domain: order transitions (timelines), idempotency keys,
and the error codes of app/lifecycle.py, app/qrpass.py and app/idempotency.py.

The codes are registered here rather than in those modules because every process imports
`models` before any domain module: their place in the registry, and so in the generated
docs/error-codes.md, never depends on which module a process (the CLI, a test run) imports first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.errors import register_codes
from app.extensions import Base

register_codes({
    # Order lifecycles (app/lifecycle.py)
    "INVALID_TRANSITION": (409, "当前状态不允许该操作",
                           "Order lifecycle: the order's current state does not allow this action (also the "
                           "answer to a second, concurrent attempt, and to a scan of a pass whose order has moved "
                           "on: already scanned, cancelled). The message names the state; `details`: "
                           "{current, current_label, transition, allowed_from}."),
    # QR passes (app/qrpass.py)
    "PASS_INVALID": (400, "二维码无效", "QR pass: not a pass, tampered, signed by an unknown key, or its holder no "
                                      "longer holds the order; `details.reason` says which (format, signature, key, "
                                      "purpose, holder, state)."),
    "PASS_EXPIRED": (400, "二维码已过期，请刷新后重新出示", "QR pass: older than its lifetime (about a minute)."),
    "PASS_ORDER_NOT_ACTIVE": (409, "当前状态无需出示二维码",
                              "Issuing a QR pass: the order is in no state a pass is for (e.g. cancelled, "
                              "finished); `details`: {current, current_label}. A scan of an old pass of such an "
                              "order answers INVALID_TRANSITION."),
    # Idempotency keys (app/idempotency.py)
    "IDEMPOTENCY_KEY_INVALID": (400, "Idempotency-Key 格式不正确",
                                "The Idempotency-Key header must be 1-100 characters of [A-Za-z0-9_-]."),
    "IDEMPOTENCY_KEY_REQUIRED": (428, "缺少 Idempotency-Key 请求头",
                                 "This route needs an Idempotency-Key header (a fresh random value per action)."),
    "IDEMPOTENCY_KEY_REUSED": (422, "该 Idempotency-Key 已用于另一个请求",
                               "The key was already used by this user with a different request (method, path "
                               "or body). Use a new key for a new action."),
    "IDEMPOTENCY_IN_PROGRESS": (409, "相同的请求正在处理中，请稍后再试",
                                "A request with this Idempotency-Key is still being processed: retry the same "
                                "request a moment later to receive its result."),
})


class OrderTransition(Base):
    """One row per state change of any order (app/lifecycle.py), the creation included
    (from_state NULL): the order's timeline. Written in the transaction that changes the
    order; never updated. actor_id NULL means the system (a sweep)."""

    __tablename__ = "order_transition"
    __table_args__ = (Index(None, "order_type", "order_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_type: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int] = mapped_column(BigInteger)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    transition: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    note: Mapped[str | None] = mapped_column(String(200))


class IdempotencyKey(Base):
    """An `Idempotency-Key` a user sent with a POST that creates something (app/idempotency.py).
    Inserted in the transaction that creates the order; the response (status, type, body)
    is stored for replays. Purged after IDEMPOTENCY_RETENTION_HOURS by a sweep."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    response_type: Mapped[str | None] = mapped_column(String(100))
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
