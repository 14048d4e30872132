"""The panel's outbox and consent views (read-only, no message content, no personal data)
and the demo data step."""

from __future__ import annotations

from sqlalchemy import select

from app.demo import DEMO_STEPS, STAFF, seed_identity
from app.extensions import db
from blueprints.notifications.demo import seed_notifications
from models import User
from models.notifications import InAppMessage, NotificationConsent, NotificationOutbox
from tests.support.admin import PASSWORD, login


def _rows(make):
    user = make.user(name="收件人甲", phone="13912345678")
    row = NotificationOutbox(user_id=user.id, template="order_status_changed", template_id="TPL-ORDER",
                             openid="o-secret-openid", page="pages/secret/page", data={"thing1": {"value": "机密内容"}},
                             status="failed", attempts=2, last_error="errcode -1: system busy")
    db.session.add_all([row, NotificationConsent(user_id=user.id, template="order_status_changed", remaining=3)])
    db.session.commit()
    return user, row


def test_admin_and_auditor_read_the_outbox_without_content(client, make):
    user, row = _rows(make)
    for reader in (make.user("admin", password=PASSWORD), make.user("auditor", password=PASSWORD)):
        assert login(client, reader).status_code == 302
        for url in ("/admin/notification-outbox/", f"/admin/notification-outbox/details/?id={row.id}"):
            page = client.get(url)
            html = page.get_data(as_text=True)
            assert page.status_code == 200, url
            assert "order_status_changed" in html and "发送失败" in html and "errcode -1" in html
            assert "收件人甲" in html
            for secret in ("o-secret-openid", "机密内容", "pages/secret/page", "13912345678", "1391234"):
                assert secret not in html, (url, secret)
        consents = client.get("/admin/notification-consents/")
        assert consents.status_code == 200 and "收件人甲" in consents.get_data(as_text=True)
        # Read-only for everyone.
        assert client.get("/admin/notification-outbox/new/").status_code == 403
        assert client.post(f"/admin/notification-outbox/edit/?id={row.id}", data={"status": "sent"}).status_code \
            == 403
        assert client.post("/admin/notification-outbox/delete/", data={"id": row.id}).status_code == 403
        client.post("/admin/logout")
    db.session.expire_all()
    assert db.session.get(NotificationOutbox, row.id).status == "failed"


def test_contractor_managers_cannot_open_the_views(client, make):
    _rows(make)
    manager = make.user("canteen_manager", company=make.company("canteen_operator"), password=PASSWORD)
    assert login(client, manager).status_code == 302
    assert client.get("/admin/notification-outbox/").status_code == 403
    assert client.get("/admin/notification-consents/").status_code == 403


def test_demo_step_gives_every_demo_staff_member_messages_once(app):
    assert "blueprints.notifications.demo:seed_notifications" in DEMO_STEPS
    seed_identity()
    seed_notifications()
    seed_notifications()  # idempotent
    db.session.commit()
    users = db.session.execute(select(User).where(User.employee_no.in_([s[0] for s in STAFF]))).scalars().all()
    assert len(users) == len(STAFF)
    for user in users:
        messages = db.session.execute(select(InAppMessage).where(InAppMessage.user_id == user.id)
                                      .order_by(InAppMessage.id)).scalars().all()
        assert [m.title for m in messages] == ["平台试运行通知", "欢迎使用机关后勤服务平台"]
        assert messages[0].read_at is not None and messages[1].read_at is None
        assert user.name in messages[1].body
