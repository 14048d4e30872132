"""照片与附件: every upload, read-only, for administrators and auditors, with its thumbnail.

The thumbnail is served by the view's own endpoint (`/admin/attachments/thumbnail/?id=`),
so it has the view's access checks (signed in to the panel, a role that may read the
view) and the panel's no-store headers; the API's bearer-token routes are not used."""

from __future__ import annotations

from flask import Response, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual, IntEqualFilter
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from admin.views.base import MSG_NOT_FOUND, PanelModelView, local_datetime_filters
from app.errors import AppError
from blueprints.attachments import service
from models.attachments import PURPOSES, VERDICTS, Attachment

PURPOSE_CHOICES = list(PURPOSES.items())
VERDICT_CHOICES = list(VERDICTS.items())


class BoundFilter(FilterEqual):
    """是否已提交: bound to an order or not."""

    def apply(self, query, value, alias=None):
        column = self.get_column(alias)
        return query.filter(column.is_not(None) if value == "1" else column.is_(None))

    def operation(self):
        return "等于"


def _thumbnail_formatter(view, context, model, name):
    src = url_for(".thumbnail_view", id=model.id)
    return Markup('<img src="{}" alt="#{}" loading="lazy" style="max-width:96px;max-height:96px">').format(
        src, model.id)


def _order_formatter(view, context, model, name):
    return "" if model.order_id is None else f"{model.order_type} #{model.order_id}"


def _size_formatter(view, context, model, name):
    return f"{model.size / 1024:.0f} KB"


class AttachmentView(PanelModelView):
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True  # the table only grows: no COUNT(*) per page
    can_view_details = True

    column_default_sort = ("id", True)
    column_list = ["thumbnail", "id", "purpose", "uploader", "order", "size", "security_verdict", "created_at"]
    column_details_list = ["thumbnail", "id", "purpose", "uploader", "order", "bound_at", "content_type", "width",
                           "height", "size", "sha256", "security_verdict", "created_at"]
    column_labels = {"thumbnail": "缩略图", "id": "编号", "purpose": "用途", "uploader": "上传人", "order": "所属订单",
                     "bound_at": "提交时间", "content_type": "格式", "width": "宽（像素）", "height": "高（像素）",
                     "size": "大小", "sha256": "SHA-256", "security_verdict": "内容安全检测", "created_at": "上传时间"}
    column_choices = {"purpose": PURPOSE_CHOICES, "security_verdict": VERDICT_CHOICES}
    column_formatters = {"thumbnail": _thumbnail_formatter, "order": _order_formatter, "size": _size_formatter}
    column_formatters_detail = column_formatters
    column_sortable_list = ["id", "size", "created_at"]
    column_filters = [FilterEqual(Attachment.purpose, "用途", options=PURPOSE_CHOICES),
                      FilterEqual(Attachment.security_verdict, "内容安全检测", options=VERDICT_CHOICES),
                      BoundFilter(Attachment.order_id, "是否已提交", options=[("1", "已提交"), ("0", "未提交")]),
                      FilterEqual(Attachment.order_type, "订单类型"),
                      IntEqualFilter(Attachment.order_id, "订单 ID"),
                      IntEqualFilter(Attachment.uploader_id, "上传人 ID"),
                      *local_datetime_filters(Attachment.created_at, "上传时间")]

    def can_write(self, principal) -> bool:
        return False

    def get_query(self):
        return super().get_query().options(joinedload(Attachment.uploader))

    @expose("/thumbnail/")
    def thumbnail_view(self):
        """The thumbnail of one upload (JPEG), for the list and details pages."""
        attachment = self.get_one(request.args.get("id"))
        if attachment is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        try:
            data = service.read(attachment, thumbnail=True)
        except AppError as exc:
            return self.error_page(exc.status, "无法读取照片", exc.message)
        response = Response(data, mimetype="image/jpeg")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Disposition"] = f'inline; filename="attachment-{attachment.id}-thumbnail.jpg"'
        return response


def add_views(admin) -> None:
    admin.add_view(AttachmentView(Attachment, name="照片与附件", endpoint="attachment", url="attachments"))
