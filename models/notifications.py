"""Notifications: in-app messages (站内消息), the WeChat subscribe-message outbox, consents.

- `InAppMessage`: every notice a user gets, whatever happens on WeChat's side.
- `NotificationOutbox`: one WeChat subscribe message to send, written in the same
  transaction as the in-app message and sent by a job (app/notify.py). Status:
  queued → sending → sent | failed (definite error; retried with back-off until the last
  attempt) | unknown (WeChat may have delivered it: never resent) | consent_exhausted.
- `NotificationConsent`: per user and template, how many one-time consents are left
  (each accepted `wx.requestSubscribeMessage` adds one, each send uses one) or whether a
  long-term consent is in force.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from models.identity import TimestampMixin, User, in_check

OUTBOX_STATUSES = ("queued", "sending", "sent", "failed", "unknown", "consent_exhausted")
# Rows a sender may claim: new ones, and definite failures whose back-off has passed.
RETRYABLE_STATUSES = ("queued", "failed")


class InAppMessage(TimestampMixin, Base):
    __tablename__ = "notification_message"
    __table_args__ = (
        Index("ix_notification_message_user_id_id", "user_id", "id"),
        Index("ix_notification_message_unread", "user_id", postgresql_where=text("read_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    template: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    page: Mapped[str | None] = mapped_column(String(255))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()

    @property
    def read(self) -> bool:
        return self.read_at is not None


class NotificationOutbox(TimestampMixin, Base):
    __tablename__ = "notification_outbox"
    __table_args__ = (
        CheckConstraint(in_check("status", OUTBOX_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        # The sweep's question: which rows are due (queued too long, or failed and backed off)?
        Index("ix_notification_outbox_due", "next_attempt_at",
              postgresql_where=text("status IN ('queued', 'failed')")),
        Index("ix_notification_outbox_sending", "claimed_at", postgresql_where=text("status = 'sending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("notification_message.id", ondelete="SET NULL"),
                                                   index=True)
    # What to send, fixed when the notice was written (configuration may change meanwhile).
    template: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(128))
    long_term: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    openid: Mapped[str] = mapped_column(String(128))
    page: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict] = mapped_column(JSONB)
    # Sending.
    status: Mapped[str] = mapped_column(String(20), default="queued", server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    consent_used: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    msgid: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    user: Mapped[User] = relationship()
    message: Mapped[InAppMessage | None] = relationship()


class NotificationConsent(TimestampMixin, Base):
    __tablename__ = "notification_consent"
    __table_args__ = (
        UniqueConstraint("user_id", "template"),
        CheckConstraint("remaining >= 0", name="remaining"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    template: Mapped[str] = mapped_column(String(64))
    remaining: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    long_term: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    user: Mapped[User] = relationship()
