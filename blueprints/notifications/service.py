"""In-app messages and consents of the signed-in user (plain functions, no `request`).
Messages are personal: everyone, administrators included, sees only their own."""

from __future__ import annotations

from sqlalchemy import func, select, update

from app import notify
from app.auth import ensure_visible
from app.extensions import db
from models.notifications import InAppMessage


def message_query(user_id: int, unread_only: bool = False):
    stmt = select(InAppMessage).where(InAppMessage.user_id == user_id)
    if unread_only:
        stmt = stmt.where(InAppMessage.read_at.is_(None))
    return stmt.order_by(InAppMessage.id.desc())


def unread_count(user_id: int) -> int:
    return db.session.execute(select(func.count()).select_from(InAppMessage).where(
        InAppMessage.user_id == user_id, InAppMessage.read_at.is_(None))).scalar_one()


def mark_read(user_id: int, message_id: int) -> InAppMessage:
    """Idempotent: a message read earlier keeps its first read time."""
    m = InAppMessage
    db.session.execute(update(m).where(m.id == message_id, m.user_id == user_id, m.read_at.is_(None))
                       .values(read_at=func.now()))
    message = db.session.execute(select(m).where(m.id == message_id, m.user_id == user_id).execution_options(
        populate_existing=True)).scalar_one_or_none()
    ensure_visible(message is not None)
    return message


def mark_all_read(user_id: int) -> int:
    m = InAppMessage
    result = db.session.execute(update(m).where(m.user_id == user_id, m.read_at.is_(None))
                                .values(read_at=func.now()).execution_options(synchronize_session=False))
    return result.rowcount


def template_states(user_id: int) -> list[dict]:
    """The WeChat templates the mini-program may ask consent for, with this user's consents."""
    consents = {c.template: c for c in notify.consents_of(user_id)}
    states = []
    for name, template in sorted(notify.wechat_templates().items()):
        consent = consents.get(name)
        states.append({"name": name, "template_id": template.template_id, "long_term": template.long_term,
                       "remaining": consent.remaining if consent else 0,
                       "long_term_accepted": bool(consent and consent.long_term and template.long_term)})
    return states
