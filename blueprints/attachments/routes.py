"""照片与附件: upload a photo (checked, EXIF stripped, thumbnailed), read it and its thumbnail,
delete an upload not yet submitted with an order. Domains bind uploads to their orders
(blueprints.attachments.service.bind); a bound photo is seen by whoever may see the order."""

from functools import wraps

from flask import Response, current_app, request
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db, limiter
from blueprints.attachments import service
from blueprints.attachments.images import EXTENSIONS
from blueprints.attachments.schemas import AttachmentSchema, AttachmentUploadSchema


class _MultipartParser(FlaskParser):
    """The "files" location reads the whole multipart body (files and plain fields), so one
    schema describes the upload, in the parsing and in OpenAPI (multipart/form-data)."""

    def load_files(self, req, schema):
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


blp = ApiBlueprint("attachments", __name__, url_prefix="", description="照片与附件")
blp.ARGUMENTS_PARSER = _MultipartParser()

# Room for the multipart envelope (boundaries, headers, the purpose field) around the file.
MULTIPART_OVERHEAD = 64 * 1024
# A photo's bytes never change (a new photo is a new id); visibility might, so caches are private and short-ish.
CACHE_SECONDS = 3600
IMAGE_DOC = {"content_type": "image/jpeg", "schema": {"type": "string", "format": "binary"}, "success": True,
             "description": "图片（Content-Type 为 image/jpeg、image/png 或 image/webp；ETag 为内容的 SHA-256，"
                            "带 If-None-Match 时未变化返回 304）"}


@blp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    """A body over the limit (also a chunked one without Content-Length) in our error shape."""
    return service.too_large().to_response()


def _limit_body(func):
    """Refuse an oversized body before anything reads it (Content-Length), and cap the stream
    for a body without one (werkzeug raises RequestEntityTooLarge past the cap)."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        cap = current_app.config["ATTACHMENT_MAX_BYTES"] + MULTIPART_OVERHEAD
        request.max_content_length = cap
        if request.content_length is not None and request.content_length > cap:
            raise service.too_large()
        return func(*args, **kwargs)

    return wrapper


@blp.post("/attachments")
@blp.auth()
@limiter.limit(lambda: current_app.config["RATELIMIT_UPLOAD"])
@_limit_body
@blp.arguments(AttachmentUploadSchema, location="files")
@blp.response(201, AttachmentSchema)
@blp.alt_response(413, schema=ErrorSchema, description="文件超过 10 MB (ATTACHMENT_TOO_LARGE)")
@blp.alt_response(415, schema=ErrorSchema, description="不是 JPEG、PNG 或 WebP 图片 (ATTACHMENT_TYPE_UNSUPPORTED)")
@blp.alt_response(422, schema=ErrorSchema, description=(
    "图片损坏或不完整 (ATTACHMENT_IMAGE_INVALID)、像素过多 (ATTACHMENT_DIMENSIONS_TOO_LARGE)、"
    "内容违规 (CONTENT_RISKY) 或字段错误 (VALIDATION_ERROR)"))
@blp.alt_response(429, schema=ErrorSchema, description="上传过于频繁 (RATE_LIMITED)")
@blp.alt_response(503, schema=ErrorSchema, description="内容安全检测暂不可用 (CONTENT_CHECK_UNAVAILABLE)")
def upload(body):
    """上传照片（multipart：file、purpose）：按内容识别格式，去除 EXIF 等全部元数据（先按拍摄方向摆正），
    生成缩略图并经微信内容安全检测；返回的 id 随订单（打卡、报修、完工、建议）一并提交。
    未在 24 小时内提交的照片会被删除"""
    data = body["file"].read(current_app.config["ATTACHMENT_MAX_BYTES"] + 1)
    attachment = service.upload(current_principal(), data, body["purpose"])
    db.session.commit()
    return attachment


def _serve(attachment, thumbnail: bool) -> Response:
    etag = attachment.thumbnail_sha256 if thumbnail else attachment.sha256
    content_type = "image/jpeg" if thumbnail else attachment.content_type
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        response = Response(service.read(attachment, thumbnail), mimetype=content_type)
        name = f"attachment-{attachment.id}{'-thumbnail' if thumbnail else ''}.{EXTENSIONS[content_type]}"
        response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"private, max-age={CACHE_SECONDS}"
    response.headers["Vary"] = "Authorization"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.get("/attachments/<int:attachment_id>")
@blp.auth()
@blp.alt_response(200, **IMAGE_DOC)
@blp.alt_response(304, description="未修改（If-None-Match 与 ETag 相同）", success=True)
@blp.alt_response(404, schema=ErrorSchema, description="照片不存在或无权查看 (NOT_FOUND)")
def get_image(attachment_id):
    """照片（去除元数据后的原图）：上传者可见；随订单提交后，能查看该订单的人可见"""
    return _serve(service.get_visible(current_principal(), attachment_id), thumbnail=False)


@blp.get("/attachments/<int:attachment_id>/thumbnail")
@blp.auth()
@blp.alt_response(200, **{**IMAGE_DOC, "description": "缩略图（JPEG，长边不超过 480 像素）"})
@blp.alt_response(304, description="未修改（If-None-Match 与 ETag 相同）", success=True)
@blp.alt_response(404, schema=ErrorSchema, description="照片不存在或无权查看 (NOT_FOUND)")
def get_thumbnail(attachment_id):
    """照片缩略图（JPEG）：可见范围同原图"""
    return _serve(service.get_visible(current_principal(), attachment_id), thumbnail=True)


@blp.get("/attachments/<int:attachment_id>/meta")
@blp.auth()
@blp.response(200, AttachmentSchema)
@blp.alt_response(404, schema=ErrorSchema, description="照片不存在或无权查看 (NOT_FOUND)")
def get_meta(attachment_id):
    """照片信息（尺寸、大小、SHA-256、是否已提交）"""
    return service.get_visible(current_principal(), attachment_id)


@blp.delete("/attachments/<int:attachment_id>")
@blp.auth()
@blp.response(204)
@blp.alt_response(404, schema=ErrorSchema, description="照片不存在或无权查看 (NOT_FOUND)")
@blp.alt_response(409, schema=ErrorSchema, description="照片已随订单提交，不能删除 (ATTACHMENT_BOUND)")
def delete_upload(attachment_id):
    """删除自己上传、尚未随订单提交的照片"""
    keys = service.delete_upload(current_principal(), attachment_id)
    db.session.commit()
    service.remove_unreferenced(keys)
