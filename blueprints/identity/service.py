"""Identity rules: who sees which user, roles, disabling, departments, companies, invites.
Plain functions, no `request`: routes, the admin panel and CLI commands all call these."""

from __future__ import annotations

import secrets
from contextlib import contextmanager

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from app import audit
from app.auth import Principal, ensure_visible, revoke_tokens
from app.crypto import decrypt, encrypt, mask_phone, normalise_phone, phone_index, token_hash
from app.errors import AppError, register_codes
from app.extensions import db
from app.signals import user_disabled
from app.timeutil import utcnow
from blueprints.auth.service import token_payload
from models import COMPANY_KINDS, ROLES, Company, Department, InviteCode, RoleGrant, User

PHONE_PURPOSE = "user.phone"

register_codes({
    "OWN_ADMIN_ROLE": (409, "不能移除自己的管理员角色",
                       "Set roles: an administrator cannot take the admin role from themselves."),
})


# --- phones ------------------------------------------------------------------------------

def set_phone(user: User, phone: str | None) -> None:
    user.phone_enc = encrypt(phone, PHONE_PURPOSE)
    user.phone_bidx = phone_index(phone) if phone else None


def user_phone(user: User) -> str | None:
    return decrypt(user.phone_enc, PHONE_PURPOSE)


def masked_phone(user: User) -> str | None:
    return mask_phone(user_phone(user))


# --- visibility --------------------------------------------------------------------------

def manages_company(principal: Principal, company_id: int | None) -> bool:
    """A contractor manager (canteen_manager, property_dispatcher) of this company."""
    if company_id is None:
        return False
    return any(principal.has_role(role, "company", company_id)
               for _, _, managers in COMPANY_KINDS.values() for role in managers)


def can_see_user(principal: Principal, user: User) -> bool:
    return (principal.reads_everything or principal.user_id == user.id
            or (user.kind == "contractor" and manages_company(principal, user.company_id)))


def get_user(principal: Principal, user_id: int) -> User:
    user = db.session.get(User, user_id)
    ensure_visible(user is not None and can_see_user(principal, user))
    return user


def user_query(principal: Principal, q: str | None = None, kind: str | None = None,
               company_id: int | None = None, department_id: int | None = None):
    stmt = select(User).order_by(User.id).options(
        joinedload(User.department), joinedload(User.company), selectinload(User.roles))
    if not principal.reads_everything:
        managed = [cid for _, kind_, cid in principal.grants
                   if kind_ == "company" and manages_company(principal, cid)]
        if not managed:
            raise AppError("FORBIDDEN")
        stmt = stmt.where(User.kind == "contractor", User.company_id.in_(managed))
    if q:
        stmt = stmt.where((User.name.contains(q, autoescape=True)) | (User.employee_no == q))
    if kind:
        stmt = stmt.where(User.kind == kind)
    if company_id:
        stmt = stmt.where(User.company_id == company_id)
    if department_id:
        stmt = stmt.where(User.department_id == department_id)
    return stmt


# --- roles and disabling -----------------------------------------------------------------

def validate_grant(user: User, role: str, scope_kind: str, scope_id: int | None) -> None:
    """The role exists, takes this scope, and the scope names a real object: a company
    whose kind has the role and, for a contractor, their own company."""
    if role not in ROLES:
        raise AppError("ROLE_SCOPE_INVALID", details={"role": role})
    if scope_kind not in ROLES[role][1] or (scope_kind == "global") != (scope_id is None):
        raise AppError("ROLE_SCOPE_INVALID", details={"role": role, "allowed_scopes": list(ROLES[role][1])})
    if scope_kind == "company":
        company = db.session.get(Company, scope_id)
        if company is None or role not in COMPANY_KINDS[company.kind][1] \
                or (user.kind == "contractor" and user.company_id != scope_id):
            raise AppError("ROLE_SCOPE_INVALID", details={"role": role, "scope_id": scope_id})
    if scope_kind == "department" and db.session.get(Department, scope_id) is None:
        raise AppError("ROLE_SCOPE_INVALID", details={"role": role, "scope_id": scope_id})


def set_roles(actor: Principal, user: User, grants: list[dict]) -> User:
    """Replace a user's roles (administrators only); tokens and panel sessions end at once.
    The user's row is locked, so concurrent changes apply one after the other."""
    db.session.refresh(user, with_for_update=True)
    wanted = set()
    for grant in grants:
        scope_kind, scope_id = grant.get("scope_kind", "global"), grant.get("scope_id")
        validate_grant(user, grant["role"], scope_kind, scope_id)
        wanted.add((grant["role"], scope_kind, scope_id))
    current = {(g.role, g.scope_kind, g.scope_id): g for g in user.roles}
    if set(current) == wanted:
        return user
    admin = ("admin", "global", None)
    if user.id == actor.user_id and admin in current and admin not in wanted:
        raise AppError("OWN_ADMIN_ROLE")
    for key, grant in current.items():
        if key not in wanted:
            user.roles.remove(grant)
    for role, scope_kind, scope_id in wanted - set(current):
        user.roles.append(RoleGrant(role=role, scope_kind=scope_kind, scope_id=scope_id,
                                    granted_by_id=actor.user_id))
    user.auth_epoch += 1
    revoke_tokens(user.id, "role_change")
    audit.record("user.roles", "user", user.id,
                 {"before": sorted(map(list, current)), "after": sorted(map(list, wanted))}, actor=actor)
    return user


def can_disable(actor: Principal, user: User) -> bool:
    """Administrators, and contractor managers for their own company's staff; never oneself."""
    return user.id != actor.user_id and (
        actor.is_admin or (user.kind == "contractor" and manages_company(actor, user.company_id)))


def disable_user(actor, user: User, reason: str) -> User:
    """Disable an account: tokens revoked at once, panel sessions ended, and every domain
    connected to `user_disabled` cancels the person's future orders in this transaction.
    The row is locked first, so a person disabled twice at once is disabled (and announced) once."""
    db.session.refresh(user, with_for_update=True)
    if not user.is_active:
        return user
    user.is_active = False
    user.disabled_at = utcnow()
    user.auth_epoch += 1
    revoke_tokens(user.id, "disabled")
    user_disabled.send(user, actor=actor, reason=reason)
    audit.record("user.disable", "user", user.id, {"reason": reason}, actor=actor)
    return user


def enable_user(actor, user: User) -> User:
    if user.is_active:
        return user
    user.is_active = True
    user.disabled_at = None
    audit.record("user.enable", "user", user.id, actor=actor)
    return user


# --- departments and companies -----------------------------------------------------------

def field_error(code: str, field: str, message: str) -> AppError:
    """An error naming one body field, in the shape webargs gives VALIDATION_ERROR."""
    return AppError(code, details={"fields": {"json": {field: [message]}}})


@contextmanager
def unique_or_conflict(field: str, message: str):
    """Write inside a savepoint: a unique violation becomes 409 CONFLICT naming `field`,
    and the caller's transaction stays usable."""
    try:
        with db.session.begin_nested():
            yield
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) != "23505":  # unique_violation
            raise
        raise field_error("CONFLICT", field, message) from exc


def check_department_parent(department: Department, parent_id: int | None) -> None:
    seen = {department.id} if department.id else set()
    cursor = parent_id
    while cursor is not None:
        if cursor in seen:
            raise AppError("DEPARTMENT_CYCLE")
        seen.add(cursor)
        parent = db.session.get(Department, cursor)
        if parent is None:
            raise field_error("VALIDATION_ERROR", "parent_id", "上级部门不存在")
        cursor = parent.parent_id


def create_department(actor: Principal, data: dict) -> Department:
    department = Department(**data)
    check_department_parent(department, data.get("parent_id"))
    with unique_or_conflict("code", "部门编码已存在"):
        db.session.add(department)
    audit.record("department.create", "department", department.id, {"code": department.code}, actor=actor)
    return department


def update_department(actor: Principal, department: Department, data: dict) -> Department:
    check_department_parent(department, data.get("parent_id"))
    with unique_or_conflict("code", "部门编码已存在"):
        for key, value in data.items():
            setattr(department, key, value)
    audit.record("department.update", "department", department.id, data, actor=actor)
    return department


def create_company(actor: Principal, data: dict) -> Company:
    company = Company(**data)
    with unique_or_conflict("name", "服务单位名称已存在"):
        db.session.add(company)
    audit.record("company.create", "company", company.id, {"name": company.name, "kind": company.kind},
                 actor=actor)
    return company


def can_see_company(principal: Principal, company: Company) -> bool:
    return principal.reads_everything or principal.company_id == company.id


def list_companies(principal: Principal) -> list[Company]:
    """Administrators and auditors see every company; anyone else only their own."""
    stmt = select(Company).order_by(Company.id)
    if not principal.reads_everything:
        stmt = stmt.where(Company.id == principal.company_id)
    return list(db.session.execute(stmt).scalars())


def list_invites(company: Company) -> list[InviteCode]:
    return list(db.session.execute(select(InviteCode).where(InviteCode.company_id == company.id)
                                   .order_by(InviteCode.id.desc())).scalars())


def get_company(principal: Principal, company_id: int) -> Company:
    company = db.session.get(Company, company_id)
    ensure_visible(company is not None and can_see_company(principal, company))
    return company


# --- contractor invitations --------------------------------------------------------------

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def get_managed_company(principal: Principal, company_id: int) -> Company:
    company = db.session.get(Company, company_id)
    ensure_visible(company is not None and (principal.is_admin or manages_company(principal, company_id)))
    return company


def create_invite(actor: Principal, company: Company, role: str, note: str | None,
                  ttl) -> tuple[str, InviteCode]:
    if role not in COMPANY_KINDS[company.kind][1]:
        raise AppError("INVITE_ROLE_NOT_ALLOWED",
                       details={"allowed_roles": list(COMPANY_KINDS[company.kind][1])})
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
    invite = InviteCode(company_id=company.id, role=role, code_hash=token_hash(code), note=note,
                        created_by_id=actor.user_id, expires_at=utcnow() + ttl)
    db.session.add(invite)
    db.session.flush()
    audit.record("invite.create", "invite", invite.id, {"company_id": company.id, "role": role}, actor=actor)
    return code, invite


def revoke_invite(actor: Principal, invite: InviteCode) -> None:
    if invite.used_at is None and invite.revoked_at is None:
        invite.revoked_at = utcnow()
        audit.record("invite.revoke", "invite", invite.id, actor=actor)


def redeem_invite(principal: Principal, code: str, name: str, phone_raw: str) -> dict:
    """A person signed in through WeChat (still a visitor) joins a contractor company.
    The code is spent by one conditional update, so it works exactly once."""
    # Locked: the same person redeeming two codes at once gets one, not a half-mixed account.
    user = db.session.get(User, principal.user_id, with_for_update=True, populate_existing=True)
    if user.kind != "visitor":
        raise AppError("WX_ALREADY_BOUND")
    name, phone = name.strip(), normalise_phone(phone_raw)
    if not name:
        raise field_error("VALIDATION_ERROR", "name", "请填写姓名")
    if phone is None:
        raise field_error("VALIDATION_ERROR", "phone", "手机号格式不正确")
    now = utcnow()
    invite = db.session.execute(
        update(InviteCode)
        .where(InviteCode.code_hash == token_hash(code.strip().upper()), InviteCode.used_at.is_(None),
               InviteCode.revoked_at.is_(None), InviteCode.expires_at > now,
               InviteCode.company_id.in_(select(Company.id).where(Company.is_active)))
        .values(used_at=now, used_by_id=user.id)
        .returning(InviteCode)
    ).scalar_one_or_none()
    if invite is None:
        raise AppError("INVITE_INVALID")
    user.kind, user.company_id, user.name = "contractor", invite.company_id, name
    set_phone(user, phone)
    user.roles.clear()
    db.session.flush()
    user.roles.append(RoleGrant(role=invite.role, scope_kind="company", scope_id=invite.company_id,
                                granted_by_id=invite.created_by_id))
    user.auth_epoch += 1
    revoke_tokens(user.id, "role_change")
    db.session.flush()
    audit.record("invite.redeem", "invite", invite.id, {"company_id": invite.company_id,
                                                        "role": invite.role}, actor=user)
    return token_payload(user)
