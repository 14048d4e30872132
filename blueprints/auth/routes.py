"""Tokens: who am I, sign out, my sessions, and the development login."""

from flask import current_app
from sqlalchemy import select

from app.auth import ApiBlueprint, current_principal, ensure_visible, revoke_tokens
from app.errors import AppError
from app.extensions import db
from app.timeutil import utcnow
from blueprints.auth import service
from blueprints.auth.schemas import DevLoginSchema, SessionSchema, TokenSchema
from blueprints.identity.schemas import UserSchema
from models import ApiToken, User

blp = ApiBlueprint("auth", __name__, url_prefix="/auth", description="登录令牌")


def dev_login_enabled() -> bool:
    """Only when WeChat is not configured, and never in production."""
    cfg = current_app.config
    return not cfg.get("WECHAT_APPID") and cfg["APP_ENV"] != "production"


@blp.post("/dev-login")
@blp.arguments(DevLoginSchema)
@blp.response(200, TokenSchema)
def dev_login(body):
    """开发登录（仅在未配置微信且非生产环境时可用）：按工号登录"""
    if not dev_login_enabled():
        raise AppError("NOT_FOUND")
    payload = service.dev_login(body["employee_no"])
    db.session.commit()
    return payload


@blp.get("/me")
@blp.auth()
@blp.response(200, UserSchema)
def me():
    """当前用户"""
    return db.session.get(User, current_principal().user_id)


@blp.post("/logout")
@blp.auth()
@blp.response(204)
def logout():
    """退出登录：当前令牌立即失效"""
    principal = current_principal()
    revoke_tokens(principal.user_id, "logout", token_id=principal.token_id)
    db.session.commit()


@blp.get("/sessions")
@blp.auth()
@blp.response(200, SessionSchema(many=True))
def sessions():
    """我的登录会话（未过期、未撤销的令牌）"""
    principal = current_principal()
    rows = db.session.execute(select(ApiToken).where(
        ApiToken.user_id == principal.user_id, ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > utcnow()).order_by(ApiToken.id)).scalars()
    return [{"id": t.id, "client": t.client, "created_at": t.created_at, "expires_at": t.expires_at,
             "current": t.id == principal.token_id} for t in rows]


@blp.delete("/sessions/<int:token_id>")
@blp.auth()
@blp.response(204)
def revoke_session(token_id):
    """注销我的某个登录会话"""
    principal = current_principal()
    token = db.session.get(ApiToken, token_id)
    ensure_visible(token is not None and token.user_id == principal.user_id)
    revoke_tokens(principal.user_id, "logout", token_id=token_id)
    db.session.commit()
