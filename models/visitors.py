"""Visitor appointments (访客预约): one application per invitation, request or walk-in, with
one visit per occurrence (a Lifecycle order, see blueprints/visitors/rules.py), companions,
privacy-notice consents and the blacklist.

Personal data of visitors (name, phone, ID number, plate, companions) lives on the
application and its companions only, so the retention sweep can anonymise it in one place
while the visits (host, department, window, states, companion count) stay for statistics.
Phones and ID numbers are AES-GCM ciphertext (app/crypto.py) with an HMAC blind index for
lookups and a masked form for display; the plaintext is never stored.

What the database guarantees by itself:
- an ID number is stored only with a recorded consent (`ck_visit_application_consent`,
  also for every companion through the application);
- an invitation's secret (its SHA-256) opens one application;
- a visit's window is a real range, and a checked-out visit was checked in first;
- a blacklist entry names at least one of ID number, phone or name.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, SmallInteger, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from models.identity import Department, TimestampMixin, User, in_check

ID_TYPES: dict[str, str] = {
    "resident_id": "居民身份证", "passport": "护照", "hk_macao_permit": "港澳居民来往内地通行证",
    "taiwan_permit": "台湾居民来往大陆通行证"}
VISIT_SOURCES: dict[str, str] = {"invitation": "员工邀请", "application": "访客申请", "walk_in": "现场登记"}
VISIT_STATES: dict[str, str] = {
    "invited": "待访客填写", "pending": "待被访人确认", "held": "待管理员复核", "approved": "已通过",
    "inside": "在访", "left": "已离开", "rejected": "已拒绝", "cancelled": "已取消", "expired": "已过期"}
# States in which a visit still holds a pass, a parking space and the host's attention.
LIVE_STATES = ("invited", "pending", "held", "approved", "inside")
RECURRENCES: dict[str, str] = {"weekly": "每周"}


class VisitorConsent(Base):
    """Consent to the privacy notice of a version, given before any ID number is stored: by
    the visitor in the mini-program (`user_id`), or recorded by a guard for a walk-in
    (`recorded_by_id`, the visitor having read the notice at the gate)."""

    __tablename__ = "visitor_consent"
    __table_args__ = (
        CheckConstraint("user_id IS NOT NULL OR recorded_by_id IS NOT NULL", name="who"),
        Index(None, "user_id", "notice_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    notice_version: Mapped[str] = mapped_column(String(20))
    consented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VisitApplication(TimestampMixin, Base):
    """What one invitation, request or walk-in registration says, for all its visits: the
    visitor (personal data encrypted; `anonymised_at` once the retention sweep or the
    visitor's own deletion has removed it), host, purpose, companions, car, room booking."""

    __tablename__ = "visit_application"
    __table_args__ = (
        CheckConstraint(in_check("source", VISIT_SOURCES), name="source"),
        CheckConstraint(in_check("id_type", ID_TYPES), name="id_type"),
        CheckConstraint("id_number_enc IS NULL OR consent_id IS NOT NULL", name="consent"),
        CheckConstraint("(id_number_enc IS NULL) = (id_type IS NULL AND id_bidx IS NULL AND id_masked IS NULL)",
                        name="id_parts"),
        CheckConstraint("companion_count >= 0", name="companion_count"),
        CheckConstraint("recurrence IS NULL OR " + in_check("recurrence", RECURRENCES), name="recurrence"),
        UniqueConstraint("invitation_hash"),
        Index(None, "host_id", "created_at"),
        Index(None, "visitor_user_id", "created_at"),
        Index(None, "id_bidx"),
        Index(None, "phone_bidx"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    host_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    host_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"),
                                                           index=True)
    # The visitor's WeChat user (NULL for a walk-in, and for an invitation not yet opened).
    visitor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    # An invitation's secret link: only the SHA-256 of the token the host shares.
    invitation_hash: Mapped[str | None] = mapped_column(String(64))
    # The visitor (NULL name only for an invitation not yet completed, or once anonymised).
    name: Mapped[str | None] = mapped_column(String(50))
    phone_enc: Mapped[str | None] = mapped_column(String(200))
    phone_bidx: Mapped[str | None] = mapped_column(String(64))
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    id_type: Mapped[str | None] = mapped_column(String(20))
    id_number_enc: Mapped[str | None] = mapped_column(String(200))
    id_bidx: Mapped[str | None] = mapped_column(String(64))
    id_masked: Mapped[str | None] = mapped_column(String(32))
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("visitor_consent.id", ondelete="RESTRICT"))
    company: Mapped[str | None] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(200))
    plate: Mapped[str | None] = mapped_column(String(16))
    room_booking_id: Mapped[int | None] = mapped_column(ForeignKey("room_booking.id", ondelete="SET NULL"),
                                                        index=True)
    # Kept through anonymisation (statistics): how many came with the visitor.
    companion_count: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    recurrence: Mapped[str | None] = mapped_column(String(16))
    # Why the application was held (the blacklist entries it matched), and the decision.
    held_reason: Mapped[str | None] = mapped_column(String(200))
    decision_reason: Mapped[str | None] = mapped_column(String(200))
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    host: Mapped[User] = relationship(foreign_keys=[host_id])
    host_department: Mapped[Department | None] = relationship()
    visitor_user: Mapped[User | None] = relationship(foreign_keys=[visitor_user_id])
    companions: Mapped[list[VisitCompanion]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="VisitCompanion.id")
    visits: Mapped[list[Visit]] = relationship(back_populates="application", order_by="Visit.starts_at")

    def __str__(self) -> str:
        return f"{self.name or '访客'} → {self.host.name if self.host else ''}"


class VisitCompanion(Base):
    """Someone coming with the visitor (a group visit): name and ID, as sensitive as the visitor's."""

    __tablename__ = "visit_companion"
    __table_args__ = (
        CheckConstraint(in_check("id_type", ID_TYPES), name="id_type"),
        Index(None, "id_bidx"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("visit_application.id", ondelete="CASCADE"),
                                                index=True)
    name: Mapped[str] = mapped_column(String(50))
    id_type: Mapped[str] = mapped_column(String(20))
    id_number_enc: Mapped[str] = mapped_column(String(200))
    id_bidx: Mapped[str] = mapped_column(String(64))
    id_masked: Mapped[str] = mapped_column(String(32))

    application: Mapped[VisitApplication] = relationship(back_populates="companions")


class Visit(TimestampMixin, Base):
    """One occurrence of an application: its window and its way through the gate. The order
    of the VISIT lifecycle; `user_id` is the visitor's WeChat user (the pass holder), NULL for
    a walk-in and for an invitation not yet opened. Host and department are copied from the
    application for the guards' and administrators' lists."""

    __tablename__ = "visit"
    __table_args__ = (
        CheckConstraint(in_check("status", VISIT_STATES), name="status"),
        CheckConstraint("ends_at > starts_at", name="window"),
        CheckConstraint("checked_out_at IS NULL OR checked_in_at IS NOT NULL", name="checked_out"),
        Index(None, "status", "starts_at"),
        Index(None, "host_id", "starts_at"),
        Index(None, "user_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("visit_application.id", ondelete="CASCADE"),
                                                index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    host_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    host_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    checked_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_out_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    # Set once by the overstay sweep when the visitor is still inside after the window.
    overstay_flagged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    application: Mapped[VisitApplication] = relationship(back_populates="visits")
    host: Mapped[User] = relationship(foreign_keys=[host_id])
    visitor: Mapped[User | None] = relationship(foreign_keys=[user_id])

    def __str__(self) -> str:
        return f"访客预约 #{self.id}"


class VisitorBlacklist(TimestampMixin, Base):
    """A person not to be let in without an administrator's review: by ID number (blind
    index), phone (blind index) or name, with a note. Matching applications are held."""

    __tablename__ = "visitor_blacklist"
    __table_args__ = (
        CheckConstraint("id_bidx IS NOT NULL OR phone_bidx IS NOT NULL OR name IS NOT NULL", name="what"),
        CheckConstraint("btrim(note) <> ''", name="note"),
        Index(None, "id_bidx", postgresql_where=text("is_active")),
        Index(None, "phone_bidx", postgresql_where=text("is_active")),
        Index(None, "name", postgresql_where=text("is_active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    id_bidx: Mapped[str | None] = mapped_column(String(64))
    id_masked: Mapped[str | None] = mapped_column(String(32))
    phone_bidx: Mapped[str | None] = mapped_column(String(64))
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))

    def __str__(self) -> str:
        return self.name or self.id_masked or self.phone_masked or f"#{self.id}"
