"""notify(): the in-app message and the outbox row are written in the caller's transaction,
the send job is queued only after commit, and who gets a WeChat message at all."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.jobs import get_queue
from app.notify import TemplateError, notify, send_outbox
from models import Department, WechatIdentity
from models.notifications import InAppMessage, NotificationOutbox
from tests.notifications.conftest import messages_of, outbox

ORDER = {"service": "会议室预订", "order_no": "HY20261123001", "status": "已通过", "remark": "请准时参加",
         "time": datetime(2026, 11, 24, 1, 30, tzinfo=UTC)}


def _counts() -> tuple[int, int]:
    db.session.expire_all()
    return (db.session.execute(select(func.count()).select_from(InAppMessage)).scalar_one(),
            db.session.execute(select(func.count()).select_from(NotificationOutbox)).scalar_one())


def test_message_and_outbox_commit_or_roll_back_with_the_callers_work(nx, wx_user, standin):
    queue = get_queue()
    queue.empty()
    user = wx_user()
    # The caller's own change and the notice share one transaction: a rollback undoes both.
    db.session.add(Department(code="RB", name="回滚部门"))
    notice = notify(user.id, "order_status_changed", ORDER)
    assert notice.message.id and notice.outbox.status == "queued"
    db.session.rollback()
    assert _counts() == (0, 0)
    assert db.session.execute(select(Department).where(Department.code == "RB")).first() is None
    assert queue.count == 0  # nothing queued, nothing sent
    assert standin.calls() == []

    db.session.add(Department(code="OK", name="提交部门"))
    notice = notify(user.id, "order_status_changed", ORDER)
    assert queue.count == 0  # not before the commit
    db.session.commit()
    assert _counts() == (1, 1)
    [queued] = queue.jobs
    assert queued.func_name == "app.notify.send_outbox" and queued.args == (notice.outbox.id,)

    [message] = messages_of(user.id)
    assert (message.template, message.title) == ("order_status_changed", "会议室预订状态更新：已通过")
    assert message.body == "您的会议室预订（单号 HY20261123001）状态已变更为：已通过。请准时参加"
    assert message.page == "pages/orders/detail?no=HY20261123001" and message.read_at is None
    row = outbox(notice.outbox.id)
    assert (row.user_id, row.message_id, row.template_id, row.openid) == (user.id, message.id, "TPL-ORDER",
                                                                          f"o-{user.id}")
    # Values fitted to WeChat's field types; the time in Asia/Shanghai.
    assert row.data == {"character_string1": "HY20261123001", "thing2": "会议室预订", "phrase3": "已通过",
                        "time4": "2026-11-24 09:30", "thing5": "请准时参加"}
    assert row.attempts == 0 and row.next_attempt_at is not None
    assert standin.calls() == []  # sending is the job's business


def test_no_wechat_identity_means_in_app_only(nx, make, wx_user):
    queue = get_queue()
    queue.empty()
    plain = make.user()
    other_app = make.user()
    db.session.add(WechatIdentity(appid="wx-another-app", openid="o-elsewhere", user_id=other_app.id))
    db.session.commit()
    notices = [notify(plain.id, "generic_notice", {"title": "停水通知", "content": "明日停水"}),
               notify(other_app.id, "generic_notice", {"title": "停水通知", "content": "明日停水"}),
               notify(wx_user().id, "welcome", {"name": "张伟"})]  # an in-app template
    db.session.commit()
    assert [n.outbox for n in notices] == [None, None, None]
    assert _counts() == (3, 0) and queue.count == 0
    assert [m.title for m in messages_of(plain.id)] == ["停水通知"]


def test_wechat_not_configured_means_in_app_only(app, make):
    """The shared test app has no WECHAT_APPID: every notice is in-app only."""
    user = make.user()
    db.session.add(WechatIdentity(appid="wx-notify", openid="o-x", user_id=user.id))
    db.session.commit()
    notice = notify(user.id, "generic_notice", {"title": "通知", "content": "内容"})
    db.session.commit()
    assert notice.outbox is None and _counts() == (1, 0)


def test_explicit_page_and_missing_values_and_unknown_templates(nx, wx_user):
    user = wx_user()
    notice = notify(user.id, "generic_notice", {"title": "会议通知", "content": "下午三点开会"},
                    page="pages/rooms/booking?id=7")
    assert notice.message.page == notice.outbox.page == "pages/rooms/booking?id=7"
    assert notice.message.body == "下午三点开会"
    with pytest.raises(TemplateError, match="missing context value 'content'"):
        notify(user.id, "generic_notice", {"title": "缺内容"})
    with pytest.raises(TemplateError, match="unknown notification template"):
        notify(user.id, "no_such_template", {})
    with pytest.raises(TemplateError, match="255"):
        notify(user.id, "generic_notice", {"title": "t", "content": "c"}, page="pages/x?" + "a" * 300)
    db.session.rollback()
    assert _counts() == (0, 0)


def test_a_job_for_a_rolled_back_row_does_nothing(nx, wx_user, standin):
    """A job queued for a row whose savepoint rolled back finds nothing to claim."""
    user = wx_user(consents={"generic_notice": 1})
    notice = notify(user.id, "generic_notice", {"title": "t", "content": "c"})
    db.session.commit()
    assert send_outbox(notice.outbox.id + 1000) is None
    assert standin.calls() == []
