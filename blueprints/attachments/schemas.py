import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import validate

from app.schemas import LocalDateTime
from blueprints.attachments.service import attachment_url, attachments_of, thumbnail_url
from models.attachments import PURPOSES

_PURPOSE_DOC = "；".join(f"{key}：{label}" for key, label in PURPOSES.items())


class AttachmentUploadSchema(ma.Schema):
    """The multipart body of an upload."""

    file = Upload(required=True, metadata={
        "description": "图片文件（JPEG、PNG 或 WebP，按内容识别，不看文件名；不超过 10 MB）"})
    purpose = ma.fields.String(required=True, validate=validate.OneOf(list(PURPOSES)),
                               metadata={"description": f"用途：{_PURPOSE_DOC}"})


class AttachmentRefSchema(ma.Schema):
    """A photo as other domains show it inside an order (nest it: `Nested(AttachmentRefSchema, many=True)`)."""

    id = ma.fields.Integer(required=True)
    url = ma.fields.Function(lambda a: attachment_url(a.id), required=True, metadata={
        "description": "图片地址（去除 EXIF 的原图）；需带登录令牌：小程序用 wx.downloadFile 并传 header"})
    thumbnail_url = ma.fields.Function(lambda a: thumbnail_url(a.id), required=True,
                                       metadata={"description": "缩略图地址（JPEG，长边不超过 480 像素）"})
    width = ma.fields.Integer(required=True)
    height = ma.fields.Integer(required=True)


class AttachmentsField(ma.fields.List):
    """An order schema's photos: `photos = AttachmentsField("repair")` (dump only, read by obj.id
    through `attachments_of`), documented in OpenAPI as a list of AttachmentRef."""

    def __init__(self, order_type: str, **kwargs):
        kwargs.setdefault("metadata", {"description": "照片（上传后随订单提交的）"})
        super().__init__(ma.fields.Nested(AttachmentRefSchema), dump_only=True, **kwargs)
        self.order_type = order_type

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return attachments_of(self.order_type, obj.id)


class AttachmentSchema(AttachmentRefSchema):
    purpose = ma.fields.String(required=True, metadata={"description": f"用途：{_PURPOSE_DOC}"})
    content_type = ma.fields.String(required=True, metadata={"example": "image/jpeg"})
    size = ma.fields.Integer(required=True, metadata={"description": "保存的图片字节数（去除元数据、重新编码后）"})
    sha256 = ma.fields.String(required=True, metadata={"description": "保存的图片内容的 SHA-256（亦为 ETag）"})
    created_at = LocalDateTime(required=True)
    bound = ma.fields.Boolean(required=True, metadata={"description": "是否已随订单提交（已提交的不能删除）"})
    order_type = ma.fields.String(allow_none=True, metadata={"description": "所属订单类型（未提交时为 null）"})
    order_id = ma.fields.Integer(allow_none=True)
