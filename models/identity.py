"""Identity: departments, contractor companies, users, roles, WeChat identities, tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base

# role: (Chinese label, scope kinds it may carry)
ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "staff": ("机关干部", ("global",)),
    "visitor": ("访客", ("global",)),
    "canteen_manager": ("食堂经理", ("company",)),
    "canteen_staff": ("食堂员工", ("company", "canteen")),
    "property_dispatcher": ("物业调度", ("company",)),
    "technician": ("维修技师", ("company",)),
    "guard": ("安保人员", ("company",)),
    "room_approver": ("会议室审批人", ("global", "room", "department")),
    # Reading a visitor's whole ID number (verifying at the gate): audited, granted apart from guard.
    "id_verifier": ("证件核验（可查看完整证件号）", ("global", "company")),
    "admin": ("管理员", ("global",)),
    "auditor": ("审计员（只读）", ("global",)),
}
SCOPE_KINDS = ("global", "company", "canteen", "room", "department")

# company kind: (Chinese label, roles its managers may invite, the manager roles)
COMPANY_KINDS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "canteen_operator": ("食堂运营单位", ("canteen_staff", "canteen_manager"), ("canteen_manager",)),
    "property": ("物业公司", ("technician", "property_dispatcher"), ("property_dispatcher",)),
    "security": ("安保公司", ("guard",), ()),
}
USER_KINDS = ("staff", "contractor", "visitor")


def in_check(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)


class Department(TimestampMixin, Base):
    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="RESTRICT"),
                                                  index=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    parent: Mapped[Department | None] = relationship(remote_side="Department.id")

    def __str__(self) -> str:
        return self.name


class Company(TimestampMixin, Base):
    __tablename__ = "company"
    __table_args__ = (
        UniqueConstraint("name"),
        CheckConstraint(in_check("kind", COMPANY_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    contact_name: Mapped[str | None] = mapped_column(String(50))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))

    def __str__(self) -> str:
        return self.name


class User(TimestampMixin, Base):
    __tablename__ = "app_user"
    __table_args__ = (
        UniqueConstraint("employee_no"),
        CheckConstraint(in_check("kind", USER_KINDS), name="kind"),
        CheckConstraint("kind <> 'contractor' OR company_id IS NOT NULL", name="contractor_company"),
        CheckConstraint("failed_logins >= 0", name="failed_logins"),
        # One active staff member per phone number: binding by phone must be unambiguous.
        Index("uq_app_user_active_staff_phone", "phone_bidx", unique=True,
              postgresql_where=text("kind = 'staff' AND is_active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(50))
    employee_no: Mapped[str | None] = mapped_column(String(32))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="RESTRICT"),
                                                      index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="RESTRICT"),
                                                   index=True)
    # Phone: AES-GCM ciphertext plus HMAC blind index (app/crypto.py); never plaintext.
    phone_enc: Mapped[str | None] = mapped_column(String(200))
    phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    from_roster: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # Admin panel sign-in (argon2id); NULL means no panel access.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped on disable, role change and password change: panel sessions carrying an
    # older value are signed out at their next request.
    auth_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    department: Mapped[Department | None] = relationship()
    company: Mapped[Company | None] = relationship()
    roles: Mapped[list[RoleGrant]] = relationship(back_populates="user", cascade="all, delete-orphan",
                                                  foreign_keys="RoleGrant.user_id")

    def __str__(self) -> str:
        return f"{self.name}（{self.employee_no}）" if self.employee_no else self.name


class RoleGrant(TimestampMixin, Base):
    __tablename__ = "role_grant"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "scope_kind", "scope_id", postgresql_nulls_not_distinct=True),
        CheckConstraint(in_check("role", ROLES), name="role"),
        CheckConstraint(in_check("scope_kind", SCOPE_KINDS), name="scope_kind"),
        CheckConstraint("(scope_kind = 'global') = (scope_id IS NULL)", name="scope_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    scope_kind: Mapped[str] = mapped_column(String(16), default="global", server_default="global")
    scope_id: Mapped[int | None] = mapped_column()
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(back_populates="roles", foreign_keys=[user_id])

    def __str__(self) -> str:
        label = ROLES.get(self.role, (self.role,))[0]
        return label if self.scope_kind == "global" else f"{label}@{self.scope_kind}:{self.scope_id}"


class WechatIdentity(TimestampMixin, Base):
    __tablename__ = "wechat_identity"
    # One WeChat account per person and one person per WeChat account (per mini-program).
    __table_args__ = (UniqueConstraint("appid", "openid"), UniqueConstraint("appid", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    appid: Mapped[str] = mapped_column(String(64))
    openid: Mapped[str] = mapped_column(String(128))
    unionid: Mapped[str | None] = mapped_column(String(128), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    # The session key stays on the server, encrypted; never in a response or a log.
    session_key_enc: Mapped[str | None] = mapped_column(String(200))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class ApiToken(TimestampMixin, Base):
    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(32), default="miniapp", server_default="miniapp")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class InviteCode(TimestampMixin, Base):
    """A one-time code a contractor manager gives a new member of staff."""

    __tablename__ = "invite_code"
    __table_args__ = (
        UniqueConstraint("code_hash"),
        CheckConstraint(in_check("role", ROLES), name="role"),
        CheckConstraint("(used_at IS NULL) = (used_by_id IS NULL)", name="used"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    company: Mapped[Company] = relationship()
