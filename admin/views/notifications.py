"""Subscribe-message outbox and consents, read-only for administrators and auditors.

The outbox shows how each WeChat notice fared (status, attempts, last error, template) and
whom it was for; never the message content, the openid or any personal data."""

from __future__ import annotations

from flask_admin.contrib.sqla.filters import FilterEqual, FilterLike

from admin.views.base import PanelModelView, local_datetime_filters
from models.notifications import NotificationConsent, NotificationOutbox

STATUS_LABELS = {"queued": "排队中", "sending": "发送中", "sent": "已发送", "failed": "发送失败",
                 "unknown": "结果未知（不重发）", "consent_exhausted": "无订阅授权"}
STATUS_CHOICES = list(STATUS_LABELS.items())


class _ReadOnlyView(PanelModelView):
    allow_create = allow_edit = allow_delete = False

    def can_write(self, principal) -> bool:
        return False


class OutboxView(_ReadOnlyView):
    simple_list_pager = True  # the table only grows: no COUNT(*) per page
    column_default_sort = ("id", True)
    column_list = ["id", "created_at", "user", "template", "status", "attempts", "next_attempt_at", "sent_at",
                   "last_error"]
    column_details_list = ["id", "created_at", "user", "user_id", "template", "template_id", "status", "attempts",
                           "next_attempt_at", "claimed_at", "sent_at", "msgid", "last_error", "updated_at"]
    column_labels = {"id": "序号", "created_at": "创建时间", "user": "接收人", "user_id": "接收人 ID",
                     "template": "模板", "template_id": "微信模板 ID", "status": "状态", "attempts": "已尝试次数",
                     "next_attempt_at": "下次重试", "claimed_at": "最近发送开始", "sent_at": "发送成功时间",
                     "msgid": "微信消息 ID", "last_error": "最近错误", "updated_at": "更新时间"}
    column_choices = {"status": STATUS_CHOICES}
    column_sortable_list = ["created_at", "attempts", "next_attempt_at"]
    column_filters = [FilterEqual(NotificationOutbox.status, "状态", options=STATUS_CHOICES),
                      FilterEqual(NotificationOutbox.template, "模板"), FilterLike(NotificationOutbox.template, "模板"),
                      FilterEqual(NotificationOutbox.user_id, "接收人 ID"),
                      *local_datetime_filters(NotificationOutbox.created_at, "创建时间")]


class ConsentView(_ReadOnlyView):
    column_default_sort = ("id", True)
    column_list = ["user", "template", "remaining", "long_term", "accepted_at", "rejected_at", "updated_at"]
    column_details_list = ["user", "user_id", "template", "remaining", "long_term", "accepted_at", "rejected_at",
                           "created_at", "updated_at"]
    column_labels = {"user": "用户", "user_id": "用户 ID", "template": "模板", "remaining": "剩余一次性授权",
                     "long_term": "长期订阅", "accepted_at": "最近允许", "rejected_at": "最近拒绝",
                     "created_at": "创建时间", "updated_at": "更新时间"}
    column_sortable_list = ["template", "remaining", "updated_at"]
    column_filters = [FilterEqual(NotificationConsent.template, "模板"),
                      FilterEqual(NotificationConsent.user_id, "用户 ID")]


def add_views(admin) -> None:
    admin.add_view(OutboxView(NotificationOutbox, name="订阅消息发送记录", category="消息通知",
                              endpoint="notification_outbox", url="notification-outbox"))
    admin.add_view(ConsentView(NotificationConsent, name="订阅授权", category="消息通知",
                               endpoint="notification_consent", url="notification-consents"))
