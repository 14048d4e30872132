"""Attachments (照片与附件): photos uploaded for check-ins, repairs, completions and suggestions.

An upload belongs to its uploader until a domain binds it to an order (order_type,
order_id, bound_at set together, once: blueprints.attachments.service.bind). The stored
image is a re-encoded copy without EXIF or any other metadata; `sha256` is the hash of
that stored copy and also its storage key (app/storage.py), so identical uploads share
one stored file while each upload keeps its own row. Unbound rows are purged after
ATTACHMENT_UNBOUND_HOURS, and a stored file once no row names it.

Also the error codes of WeChat content security (miniapp_api/security.py), which every
domain showing users' text or photos to others uses.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.errors import register_codes
from app.extensions import Base
from models.identity import TimestampMixin, User, in_check

register_codes({
    "ATTACHMENT_TYPE_UNSUPPORTED": (415, "仅支持 JPEG、PNG、WebP 格式的图片",
                                    "Upload: the file's content is not a JPEG, PNG or WebP image (the type is "
                                    "read from the content, never from the file name or Content-Type)."),
    "ATTACHMENT_TOO_LARGE": (413, "图片文件过大",
                             "Upload: the file (or the request) is larger than ATTACHMENT_MAX_BYTES (10 MB); "
                             "`details.max_bytes`."),
    "ATTACHMENT_DIMENSIONS_TOO_LARGE": (422, "图片像素尺寸过大，请压缩后重新上传",
                                        "Upload: width x height exceeds ATTACHMENT_MAX_PIXELS (a decompression "
                                        "bomb, or an extreme panorama); `details.max_pixels`."),
    "ATTACHMENT_IMAGE_INVALID": (422, "图片已损坏或不完整，请重新选择",
                                 "Upload: the image could not be decoded (truncated, corrupt or empty)."),
    "ATTACHMENT_INVALID": (422, "照片无效、已被使用或不属于当前用户",
                           "Binding photos to an order: `details.ids` lists the ids that are not the caller's "
                           "own unbound uploads of that purpose (or `details.max` when too many were given)."),
    "ATTACHMENT_BOUND": (409, "照片已提交，不能删除", "The upload is bound to an order and can no longer be deleted."),
    # WeChat content security (miniapp_api/security.py)
    "CONTENT_RISKY": (422, "内容含有违规信息，请修改后重新提交",
                      "WeChat content security called the text or image risky; it was not stored. `details`: "
                      "{kind: text|image, label?, trace_id?}."),
    "CONTENT_CHECK_UNAVAILABLE": (503, "内容安全检测暂时不可用，请稍后再试",
                                  "The WeChat content check could not be made (WeChat unreachable or failing, or "
                                  "the user has no WeChat identity); nothing was stored. `details.reason`."),
})

PURPOSES = {"checkin": "光盘打卡", "repair": "报修", "completion": "完工", "suggestion": "建议",
            "dish": "菜品", "waste": "浪费称重", "room": "会议室"}
VERDICTS = {"pass": "通过", "review": "待人工复核", "skipped": "未检测（未配置微信）"}
CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp")


class Attachment(TimestampMixin, Base):
    __tablename__ = "attachment"
    __table_args__ = (
        CheckConstraint(in_check("purpose", PURPOSES), name="purpose"),
        CheckConstraint(in_check("content_type", CONTENT_TYPES), name="content_type"),
        CheckConstraint(in_check("security_verdict", VERDICTS), name="security_verdict"),
        CheckConstraint("size > 0 AND width > 0 AND height > 0 AND thumbnail_size > 0", name="dimensions"),
        CheckConstraint("(order_type IS NULL) = (order_id IS NULL) AND (order_id IS NULL) = (bound_at IS NULL)",
                        name="binding"),
        # An order's photos; the purge sweep's question (old unbound uploads); the files still referenced.
        Index("ix_attachment_order", "order_type", "order_id", postgresql_where=text("order_id IS NOT NULL")),
        Index("ix_attachment_unbound", "created_at", postgresql_where=text("order_id IS NULL")),
        Index(None, "sha256"),
        Index(None, "thumbnail_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Photos are evidence of orders: a user is disabled, never deleted, while they exist.
    uploader_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    thumbnail_sha256: Mapped[str] = mapped_column(String(64))
    thumbnail_size: Mapped[int] = mapped_column(Integer)
    security_verdict: Mapped[str] = mapped_column(String(16))
    order_type: Mapped[str | None] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    bound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    uploader: Mapped[User] = relationship()

    @property
    def bound(self) -> bool:
        return self.order_id is not None

    def __str__(self) -> str:
        return f"{PURPOSES.get(self.purpose, self.purpose)}照片 #{self.id}"
