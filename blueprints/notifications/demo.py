"""Demo data: a welcome message (and one read notice) for every demo staff member who has
none yet. Appended to app.demo.DEMO_STEPS (idempotent like every step)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.demo import STAFF
from app.extensions import db
from app.notify import notify
from models import User
from models.notifications import InAppMessage


def seed_notifications() -> None:
    numbers = [no for no, *_ in STAFF]
    users = db.session.execute(select(User).where(User.employee_no.in_(numbers))).scalars()
    for user in users:
        if db.session.execute(select(InAppMessage.id).where(InAppMessage.user_id == user.id)).first():
            continue
        notice = notify(user.id, "generic_notice", {"title": "平台试运行通知",
                                                    "content": "食堂预约、会议室和访客登记已开放试用，欢迎提出意见。"})
        notice.message.read_at = func.now()
        notify(user.id, "welcome", {"name": user.name})
    db.session.flush()

