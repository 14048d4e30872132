"""Foreign-id cases for tests/test_ownership.py: the notification routes with an object id."""

from __future__ import annotations

from app.extensions import db
from app.notify import notify
from models.notifications import InAppMessage
from tests.test_ownership import case


@case("POST", "/api/v1/messages/<int:message_id>/read")
def _message_read(make):
    owner, other = make.user(), make.user("admin")
    message_id = notify(owner.id, "generic_notice", {"title": "通知", "content": "内容"}).message.id
    db.session.commit()

    def check():
        assert db.session.get(InAppMessage, message_id).read_at is None
    return make.headers(other), f"/api/v1/messages/{message_id}/read", None, check
