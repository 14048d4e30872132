"""One error shape for every 4xx/5xx: {"code", "message", "details"}.

`code` is stable English for programs, `message` Chinese for people. Every code lives in
REGISTRY with its HTTP status and default message; docs/error-codes.md is generated from
it (`flask error-codes`), and a test keeps the two equal. Raise `AppError("CODE")`.
"""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# code: (HTTP status, Chinese message, meaning for the front-end team)
REGISTRY: dict[str, tuple[int, str, str]] = {
    # Generic
    "BAD_REQUEST": (400, "请求格式不正确", "The request could not be read (bad JSON, wrong type)."),
    "VALIDATION_ERROR": (422, "提交的数据不符合要求", "Fields failed validation; `details` maps location → field → messages."),
    "NOT_FOUND": (404, "请求的资源不存在", "No such resource, or it is not visible to the caller."),
    "METHOD_NOT_ALLOWED": (405, "不支持该请求方法", "The HTTP method is not allowed on this URL."),
    "CONFLICT": (409, "数据冲突，请刷新后重试", "A uniqueness or state conflict."),
    "PAYLOAD_TOO_LARGE": (413, "上传内容过大", "The request body is larger than allowed."),
    "UNSUPPORTED_MEDIA_TYPE": (415, "不支持的内容类型", "Send JSON (or multipart where documented)."),
    "RATE_LIMITED": (429, "操作过于频繁，请稍后再试", "Too many requests for this user; `details.limit` names the limit."),
    "INTERNAL_ERROR": (500, "服务器内部错误，请稍后再试", "A bug. Reported and logged."),
    "SERVICE_UNAVAILABLE": (503, "服务暂时不可用，请稍后再试", "A dependency (database) is unavailable."),
    # Authentication and permissions
    "AUTH_REQUIRED": (401, "请先登录", "No bearer token was sent."),
    "TOKEN_INVALID": (401, "登录已失效，请重新登录", "The token is unknown, expired or revoked."),
    "USER_DISABLED": (403, "账号已停用", "The account has been disabled (left the organisation)."),
    "FORBIDDEN": (403, "没有权限执行此操作", "The caller's roles do not allow this."),
    "DEV_LOGIN_UNKNOWN_USER": (404, "未找到该工号对应的用户", "Development login: no active user with that employee number."),
    # WeChat
    "WX_CODE_INVALID": (400, "微信登录凭证无效或已过期，请重新登录", "The wx.login / phone code was rejected by WeChat (40029, 40163)."),
    "WX_USER_BLOCKED": (403, "该微信账号存在风险，暂不能登录", "WeChat refused the user (40226, high-risk user)."),
    "WX_RATE_LIMITED": (429, "微信接口调用过于频繁，请稍后再试", "WeChat's own rate limit was hit (45011)."),
    "WX_BUSY": (503, "微信服务繁忙，请稍后再试", "WeChat answered -1 (system busy) or another transient error."),
    "WX_UNAVAILABLE": (503, "暂时无法连接微信服务，请稍后再试", "WeChat could not be reached (timeout, network, proxy)."),
    "WX_NOT_CONFIGURED": (503, "微信登录未配置", "The server has no WeChat app id configured."),
    "ROSTER_NO_MATCH": (404, "未在花名册中找到匹配的人员，请核对工号、姓名和手机号", "Binding: no active roster entry matches."),
    "ROSTER_ALREADY_BOUND": (409, "该人员已绑定其他微信账号，请联系管理员", "Binding: the roster entry is bound to another WeChat identity."),
    "WX_ALREADY_BOUND": (409, "当前微信已绑定人员身份", "Binding: this WeChat identity is already bound to staff or a contractor."),
    # Identity
    "INVITE_INVALID": (404, "邀请码无效、已使用或已过期", "The contractor invitation code cannot be used."),
    "INVITE_ROLE_NOT_ALLOWED": (422, "该单位不能邀请此角色", "The role does not belong to the company's kind."),
    "ROLE_SCOPE_INVALID": (422, "角色与授权范围不匹配", "The role needs a different scope (global, company, canteen, room, department)."),
    "DEPARTMENT_CYCLE": (422, "部门不能成为自己的下级", "The parent would make the department tree a cycle."),
    "ROSTER_INVALID": (422, "花名册存在错误，未导入任何数据", "Roster import: `details.rows` lists each bad row; nothing was imported."),
    "ROSTER_FILE_UNREADABLE": (422, "无法读取花名册文件，请上传 CSV 或 XLSX", "Roster import: not a readable CSV/XLSX file."),
}


_CORE_CODES = tuple(REGISTRY)


def register_codes(codes: dict[str, tuple[int, str, str]]) -> None:
    """Add a domain's own codes (called at import time of the domain's module)."""
    for code, entry in codes.items():
        if code in REGISTRY and REGISTRY[code] != entry:
            raise ValueError(f"error code {code} registered twice with different meanings")
        REGISTRY[code] = entry


class AppError(Exception):
    """An error the client caused or must know about; rendered in the error shape."""

    def __init__(self, code: str, message: str | None = None, details: Any = None,
                 status: int | None = None, headers: dict | None = None):
        default_status, default_message, _ = REGISTRY[code]
        super().__init__(code)
        self.code = code
        self.status = status or default_status
        self.message = message or default_message
        self.details = details if details is not None else {}
        self.headers = headers or {}

    def to_response(self):
        resp = jsonify({"code": self.code, "message": self.message, "details": self.details})
        resp.status_code = self.status
        resp.headers.update(self.headers)
        return resp


class ErrorSchema(ma.Schema):
    """The error body of every 4xx/5xx response."""

    code = ma.fields.String(required=True, metadata={"description": "Stable code, see docs/error-codes.md",
                                                     "example": "VALIDATION_ERROR"})
    message = ma.fields.String(required=True, metadata={"description": "Chinese message for people",
                                                        "example": "提交的数据不符合要求"})
    details = ma.fields.Dict(required=True, metadata={"description": "Machine-readable details"})


_HTTP_CODES = {400: "BAD_REQUEST", 401: "AUTH_REQUIRED", 403: "FORBIDDEN", 404: "NOT_FOUND",
               405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE",
               415: "UNSUPPORTED_MEDIA_TYPE", 422: "VALIDATION_ERROR", 429: "RATE_LIMITED",
               503: "SERVICE_UNAVAILABLE"}


def http_exception_to_error(error: HTTPException) -> AppError:
    """Map werkzeug / webargs / Flask-Limiter exceptions onto the registry."""
    status = error.code or 500
    code = _HTTP_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST")
    details: dict = {}
    data = getattr(error, "data", None) or {}
    if "messages" in data:  # webargs validation error
        details = {"fields": data["messages"]}
        code = "VALIDATION_ERROR" if status == 422 else code
    if status == 429:
        details = {"limit": str(getattr(error, "description", ""))}
    headers = dict(data.get("headers") or {})
    if status == 429 and hasattr(error, "get_headers"):
        headers.update({k: v for k, v in error.get_headers() if k.lower() == "retry-after"})
    return AppError(code, details=details, status=status, headers=headers)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(AppError, lambda e: e.to_response())
    app.register_error_handler(HTTPException, lambda e: http_exception_to_error(e).to_response())

    from sqlalchemy.exc import DataError, DBAPIError, OperationalError

    def _db_down(error: DBAPIError):
        log.warning("database unavailable: %s", type(error.orig).__name__ if error.orig else error)
        from app.extensions import db

        db.session.rollback()
        return AppError("SERVICE_UNAVAILABLE", headers={"Retry-After": "5"}).to_response()

    app.register_error_handler(OperationalError, _db_down)

    def _bad_value(error: DataError):
        # A value the database cannot hold (out of range, too long) that validation let
        # through: the client's input, so a 4xx; logged so the schema gets fixed.
        log.warning("database refused a value: %s", type(error.orig).__name__ if error.orig else error)
        from app.extensions import db

        db.session.rollback()
        return AppError("BAD_REQUEST").to_response()

    app.register_error_handler(DataError, _bad_value)

    def _unexpected(error: Exception):
        log.exception("unhandled error")
        return AppError("INTERNAL_ERROR").to_response()

    app.register_error_handler(Exception, _unexpected)


def registry_markdown() -> str:
    lines = [
        "# Error codes",
        "",
        "Every 4xx/5xx response has the body `{\"code\", \"message\", \"details\"}`.",
        "`code` is stable; `message` is the default Chinese text (an endpoint may say more).",
        "Generated from `app/errors.py` by `flask error-codes > docs/error-codes.md`.",
        "",
        "| code | HTTP | message | meaning |",
        "| --- | --- | --- | --- |",
    ]
    # Core codes in their order above, then every domain's codes by name: the same file
    # whatever order the domains were imported in.
    ordered = [*_CORE_CODES, *sorted(set(REGISTRY) - set(_CORE_CODES))]
    for code in ordered:
        status, message, meaning = REGISTRY[code]
        lines.append(f"| `{code}` | {status} | {message} | {meaning} |")
    return "\n".join(lines) + "\n"
