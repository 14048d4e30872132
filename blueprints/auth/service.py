"""Sign-in results shared by the development login and the WeChat login."""

from __future__ import annotations

from sqlalchemy import select

from app.auth import issue_token
from app.errors import AppError
from app.extensions import db
from models import User


def token_payload(user: User, client: str = "miniapp") -> dict:
    raw, row = issue_token(user, client)
    return {"token": raw, "expires_at": row.expires_at, "user": user,
            "needs_binding": user.kind == "visitor"}


def dev_login(employee_no: str) -> dict:
    user = db.session.execute(select(User).where(User.employee_no == employee_no)).scalar_one_or_none()
    if user is None:
        raise AppError("DEV_LOGIN_UNKNOWN_USER")
    if not user.is_active:
        raise AppError("USER_DISABLED")
    return token_payload(user, client="dev")
