"""WeChat sign-in and binding a WeChat identity to a person.

login: wx.login code → code_to_session → openid. A known openid signs in its person; a
new one becomes a visitor (kind "visitor", role visitor) until bound. The session key is
kept encrypted on the server and never leaves it.

Binding (signed in as that visitor): by roster entry (employee number + name + phone) or
by the phone number from WeChat's phone-number component, matched by blind index. The
WeChat identity moves to the staff member; the placeholder visitor account is disabled.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.auth import Principal, revoke_tokens
from app.crypto import encrypt, normalise_phone, phone_index
from app.errors import AppError
from app.extensions import db, hit_limit
from app.timeutil import utcnow
from blueprints.auth.service import token_payload
from blueprints.identity.service import user_phone
from miniapp_api import wechat
from models import RoleGrant, User, WechatIdentity

SESSION_KEY_PURPOSE = "wechat.session_key"


def _find_identity(appid: str, openid: str) -> WechatIdentity | None:
    return db.session.execute(select(WechatIdentity).where(
        WechatIdentity.appid == appid, WechatIdentity.openid == openid)).scalar_one_or_none()


def login(code: str) -> dict:
    client = wechat.get_client()
    result = wechat.call(client.code_to_session, code)
    openid = result["openid"]
    if not hit_limit(current_app.config["RATELIMIT_LOGIN"], "wx-login", openid):
        raise AppError("RATE_LIMITED", details={"limit": current_app.config["RATELIMIT_LOGIN"]})
    appid = current_app.config["WECHAT_APPID"]
    identity = _find_identity(appid, openid)
    if identity is None:
        try:
            with db.session.begin_nested():
                visitor = User(kind="visitor", name="访客")
                visitor.roles.append(RoleGrant(role="visitor", scope_kind="global"))
                db.session.add(visitor)
                db.session.flush()
                identity = WechatIdentity(appid=appid, openid=openid, user_id=visitor.id)
                db.session.add(identity)
        except IntegrityError:
            # The same person's concurrent first login (another request) created it first.
            identity = _find_identity(appid, openid)
            if identity is None:
                raise
    identity.unionid = result.get("unionid") or identity.unionid
    identity.session_key_enc = encrypt(result.get("session_key"), SESSION_KEY_PURPOSE)
    identity.last_login_at = utcnow()
    user = db.session.get(User, identity.user_id)
    if not user.is_active:
        raise AppError("USER_DISABLED")
    return token_payload(user)


def _identity_of(principal: Principal) -> tuple[User, WechatIdentity]:
    user = db.session.get(User, principal.user_id)
    identity = db.session.execute(select(WechatIdentity).where(
        WechatIdentity.user_id == user.id)).scalars().first()
    if user.kind != "visitor" or identity is None:
        raise AppError("WX_ALREADY_BOUND")
    return user, identity


def _bind(visitor: User, identity: WechatIdentity, staff: User, method: str) -> dict:
    # Lock the staff member: two people binding the same entry at once are serialised, and
    # the second sees the first's binding.
    db.session.execute(select(User.id).where(User.id == staff.id).with_for_update())
    if db.session.execute(select(WechatIdentity.id).where(
            WechatIdentity.user_id == staff.id, WechatIdentity.appid == identity.appid)).first():
        raise AppError("ROSTER_ALREADY_BOUND")
    identity.user_id = staff.id
    visitor.is_active = False
    visitor.disabled_at = utcnow()
    revoke_tokens(visitor.id, "bound")
    audit.record("wechat.bind", "user", staff.id, {"method": method}, actor=staff)
    db.session.flush()
    return token_payload(staff)


def _active_staff_by_phone(phone: str) -> User | None:
    return db.session.execute(select(User).where(
        User.kind == "staff", User.is_active, User.phone_bidx == phone_index(phone))).scalar_one_or_none()


def bind_by_roster(principal: Principal, employee_no: str, name: str, phone_raw: str) -> dict:
    visitor, identity = _identity_of(principal)
    phone = normalise_phone(phone_raw)
    staff = db.session.execute(select(User).where(
        User.employee_no == employee_no.strip(), User.kind == "staff", User.is_active)).scalar_one_or_none()
    if staff is None or phone is None or staff.name != name.strip() or user_phone(staff) != phone:
        raise AppError("ROSTER_NO_MATCH")
    return _bind(visitor, identity, staff, "roster")


def bind_by_phone_code(principal: Principal, phone_code: str) -> dict:
    visitor, identity = _identity_of(principal)
    client = wechat.get_client()
    phone = normalise_phone(wechat.call(client.get_user_phone_number, phone_code))
    staff = _active_staff_by_phone(phone) if phone else None
    if staff is None:
        raise AppError("ROSTER_NO_MATCH")
    return _bind(visitor, identity, staff, "phone")
