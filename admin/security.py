"""Panel sign-in: employee number + password, lockout, idle timeout, auth_epoch checks.

The panel does not use the API's bearer tokens. A signed-in panel user is kept in the
Flask session (signed cookie, HttpOnly, SameSite=Lax, Secure in production) as:

- ``admin_uid``: the user's id
- ``admin_epoch``: the user's ``auth_epoch`` at sign-in; disabling the user, changing
  their roles or their password bumps it in the database, which ends every session
  carrying the older value at its next request
- ``admin_seen``: time of the last request (idle timeout, ADMIN_IDLE_TIMEOUT)
- ``admin_since``: time of sign-in (absolute limit, PERMANENT_SESSION_LIFETIME)

Failed sign-ins are counted in ``User.failed_logins`` by one conditional UPDATE, so
attempts running at the same time in several processes are all counted; after
ADMIN_MAX_FAILURES consecutive failures ``User.locked_until`` is set and the account is
refused, even with the right password, until then.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, flash, g, session
from sqlalchemy import and_, case, or_, select, update

from app import audit
from app.auth import Principal
from app.extensions import db
from app.passwords import hash_password, password_problems, verify_password
from app.timeutil import local, utcnow
from blueprints.identity.service import manages_company
from models import COMPANY_KINDS, User

# Roles that may sign in to the panel at all.
PANEL_ROLES = ("admin", "auditor", "canteen_manager", "property_dispatcher", "room_approver")
# Contractor managers: they see only the views built for them, scoped to their company.
MANAGER_ROLES = tuple(sorted({role for _, _, managers in COMPANY_KINDS.values() for role in managers}))

UID, EPOCH, SEEN, SINCE = "admin_uid", "admin_epoch", "admin_seen", "admin_since"
_G_PRINCIPAL, _G_USER = "_panel_principal", "_panel_user"

MSG_BAD_CREDENTIALS = "工号或密码错误"
MSG_NOT_ALLOWED = "该账号没有管理后台权限"
MSG_DISABLED = "账号已停用，不能登录"
MSG_IDLE = "长时间未操作，已自动退出，请重新登录"
MSG_EXPIRED = "登录已超过有效期，请重新登录"
MSG_REVOKED = "账号状态或权限已变更，请重新登录"


def locked_message(until: datetime) -> str:
    return f"密码连续错误次数过多，账号已锁定，请于 {local(until):%Y-%m-%d %H:%M} 后再试"


# --- who may sign in ---------------------------------------------------------------------

def has_panel_role(user: User) -> bool:
    return any(grant.role in PANEL_ROLES for grant in user.roles)


def may_sign_in(user: User) -> bool:
    return bool(user.is_active and user.password_hash and has_panel_role(user))


def managed_company_ids(principal: Principal) -> list[int]:
    """Companies this principal manages (canteen_manager / property_dispatcher grants)."""
    return sorted({sid for role, kind, sid in principal.grants
                   if kind == "company" and role in MANAGER_ROLES and manages_company(principal, sid)})


# --- sign-in -----------------------------------------------------------------------------

@dataclass
class LoginResult:
    user: User | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _not_locked(now: datetime):
    return or_(User.locked_until.is_(None), User.locked_until <= now)


def register_failure(user_id: int, now: datetime) -> tuple[int, datetime | None] | None:
    """Count one failed attempt; lock the account at ADMIN_MAX_FAILURES. One conditional
    UPDATE (row-locked by PostgreSQL), so concurrent failures are each counted. An expired
    lock starts a new count. None when the account is (meanwhile) locked."""
    cfg = current_app.config
    expired = and_(User.locked_until.is_not(None), User.locked_until <= now)
    count = case((expired, 1), else_=User.failed_logins + 1)
    row = db.session.execute(
        update(User)
        .where(User.id == user_id, _not_locked(now))
        .values(failed_logins=count,
                locked_until=case((count >= cfg["ADMIN_MAX_FAILURES"], now + cfg["ADMIN_LOCKOUT"]), else_=None))
        .returning(User.failed_logins, User.locked_until)
        .execution_options(synchronize_session=False)
    ).first()
    return None if row is None else (row[0], row[1])


def _reset_failures(user_id: int, now: datetime) -> bool:
    """Clear the failure count, unless a concurrent attempt has just locked the account."""
    row = db.session.execute(
        update(User).where(User.id == user_id, _not_locked(now))
        .values(failed_logins=0, locked_until=None)
        .returning(User.id)
        .execution_options(synchronize_session=False)
    ).first()
    return row is not None


def _refused_locked(user: User, until: datetime) -> LoginResult:
    audit.record("admin.locked", "user", user.id, {"employee_no": user.employee_no}, actor=None)
    db.session.commit()
    return LoginResult(user, locked_message(until))


def attempt_login(employee_no: str, password: str) -> LoginResult:
    """Check a sign-in attempt and write its audit entry (committed). Does not touch the
    Flask session: see `sign_in`."""
    employee_no = (employee_no or "").strip()
    now = utcnow()
    user = db.session.execute(select(User).where(User.employee_no == employee_no)).scalar_one_or_none() \
        if employee_no else None
    if user is None:
        verify_password(None, password)  # same time as a real check
        audit.record("admin.login_failed", None, None,
                     {"employee_no": employee_no[:32], "reason": "unknown_user"}, actor=None)
        db.session.commit()
        return LoginResult(None, MSG_BAD_CREDENTIALS)

    if user.locked_until is not None and user.locked_until > now:
        return _refused_locked(user, user.locked_until)

    if not verify_password(user.password_hash, password):
        counted = register_failure(user.id, now)
        if counted is None:  # locked by a concurrent attempt
            db.session.rollback()
            fresh = db.session.get(User, user.id, populate_existing=True)
            return _refused_locked(fresh, fresh.locked_until or now)
        failures, locked_until = counted
        details = {"employee_no": employee_no, "reason": "bad_password", "failures": failures}
        if locked_until is not None:
            details["locked_until"] = locked_until.isoformat()
        audit.record("admin.login_failed", "user", user.id, details, actor=None)
        db.session.commit()
        return LoginResult(user, locked_message(locked_until) if locked_until else MSG_BAD_CREDENTIALS)

    # The password is right: now it is safe to say why the account may not sign in.
    reason = None if may_sign_in(user) else ("disabled" if not user.is_active else "not_allowed")
    if reason is not None:
        audit.record("admin.login_failed", "user", user.id, {"employee_no": employee_no, "reason": reason},
                     actor=None)
        db.session.commit()
        return LoginResult(user, MSG_DISABLED if reason == "disabled" else MSG_NOT_ALLOWED)

    if not _reset_failures(user.id, now):
        db.session.rollback()
        fresh = db.session.get(User, user.id, populate_existing=True)
        return _refused_locked(fresh, fresh.locked_until or now)
    audit.record("admin.login", "user", user.id, actor=user)
    db.session.commit()
    return LoginResult(user)


# --- the session -------------------------------------------------------------------------

def sign_in(user: User) -> None:
    """Start a fresh panel session (nothing from the anonymous session is kept)."""
    session.clear()
    now = time.time()
    session.permanent = True
    session.update({UID: user.id, EPOCH: user.auth_epoch, SEEN: now, SINCE: now})
    g.pop(_G_PRINCIPAL, None)
    g.pop(_G_USER, None)


def sign_out(message: str | None = None) -> None:
    for key in (UID, EPOCH, SEEN, SINCE):
        session.pop(key, None)
    g.pop(_G_PRINCIPAL, None)
    g.pop(_G_USER, None)
    if message:
        flash(message, "warning")


def forget_request_cache() -> None:
    """Called before every request: the identity is re-checked for each request."""
    g.pop(_G_PRINCIPAL, None)
    g.pop(_G_USER, None)


def current_panel_principal() -> Principal | None:
    """The signed-in panel user as a Principal, or None. Checks, once per request, the
    idle timeout, the absolute lifetime, that the user still exists, is active, may use
    the panel and carries the same auth_epoch; ends the session otherwise."""
    if _G_PRINCIPAL in g:
        return g.get(_G_PRINCIPAL)
    g.setdefault(_G_PRINCIPAL, None)
    uid = session.get(UID)
    if uid is None:
        return None
    cfg = current_app.config
    now = time.time()
    seen, since = session.get(SEEN), session.get(SINCE)
    if not isinstance(seen, int | float) or now - seen > cfg["ADMIN_IDLE_TIMEOUT"].total_seconds():
        sign_out(MSG_IDLE)
        return None
    if not isinstance(since, int | float) or now - since > cfg["PERMANENT_SESSION_LIFETIME"].total_seconds():
        sign_out(MSG_EXPIRED)
        return None
    user = db.session.get(User, uid)
    if user is None or not may_sign_in(user) or user.auth_epoch != session.get(EPOCH):
        sign_out(MSG_REVOKED)
        return None
    session[SEEN] = now
    principal = Principal.for_user(user)
    g.setdefault(_G_USER, user)
    g._panel_principal = principal
    return principal


def current_panel_user() -> User | None:
    if current_panel_principal() is None:
        return None
    return g.get(_G_USER)


# --- password change ---------------------------------------------------------------------

def change_password(user: User, current: str, new: str) -> tuple[dict[str, list[str]], datetime | None]:
    """Change the signed-in user's own password. Returns (problems, locked_until): problems
    by form field ("current", "new"), in Chinese, empty on success. A wrong current
    password counts as a failed sign-in, and when that locks the account the caller ends
    the session. Success bumps auth_epoch, so every other session of the user ends; the
    current one is carried over."""
    now = utcnow()
    if not verify_password(user.password_hash, current):
        counted = register_failure(user.id, now)
        failures, locked_until = counted if counted else (None, None)
        audit.record("admin.password_change_failed", "user", user.id, {"failures": failures}, actor=user)
        db.session.commit()
        return {"current": ["当前密码不正确"]}, locked_until
    problems = password_problems(new)
    if new == current:
        problems.append("新密码不能与当前密码相同")
    if problems:
        return {"new": problems}, None
    user.password_hash = hash_password(new)
    user.auth_epoch += 1
    user.failed_logins = 0
    user.locked_until = None
    audit.record("admin.password_change", "user", user.id, actor=user)
    db.session.commit()
    session[EPOCH] = user.auth_epoch
    return {}, None
