"""The audit log: read-only for everyone (administrators and auditors may read it)."""

from __future__ import annotations

import json

from flask_admin.contrib.sqla.filters import FilterEqual, FilterLike

from admin.views.base import PanelModelView, local_datetime_filters
from models import AuditLog


def _details_formatter(view, context, model, name):
    return json.dumps(model.details or {}, ensure_ascii=False, sort_keys=True)


class AuditLogView(PanelModelView):
    allow_create = allow_edit = allow_delete = False
    # The table only grows: no COUNT(*) per page, newest first by primary key.
    simple_list_pager = True
    column_default_sort = ("id", True)

    column_list = ["at", "actor_name", "action", "target_type", "target_id", "address", "details"]
    column_details_list = ["id", "at", "actor_id", "actor_name", "action", "target_type", "target_id", "address",
                           "details"]
    column_labels = {"id": "序号", "at": "时间", "actor_id": "操作人 ID", "actor_name": "操作人", "action": "操作",
                     "target_type": "对象类型", "target_id": "对象 ID", "address": "来源地址", "details": "详情"}
    column_formatters = {"details": _details_formatter}
    column_sortable_list = ["at"]
    column_searchable_list = ["action", "actor_name", "target_id"]
    column_filters = [FilterEqual(AuditLog.action, "操作"), FilterLike(AuditLog.action, "操作"),
                      FilterLike(AuditLog.actor_name, "操作人"), FilterEqual(AuditLog.actor_id, "操作人 ID"),
                      FilterEqual(AuditLog.target_type, "对象类型"), FilterEqual(AuditLog.target_id, "对象 ID"),
                      *local_datetime_filters(AuditLog.at, "时间")]

    def can_write(self, principal) -> bool:
        return False  # append-only: no create, edit, delete or action for anyone
