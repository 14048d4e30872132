"""flask-smorest Api: OpenAPI 3 at /api/openapi.json, Swagger UI at /api/docs (local assets)."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api as SmorestApi

from app.errors import ErrorSchema, http_exception_to_error


class Api(SmorestApi):
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        err = http_exception_to_error(error)
        return {"code": err.code, "message": err.message, "details": err.details}, err.status, err.headers


API_PREFIX = "/api/v1"


def init_api(app: Flask) -> Api:
    api = Api(app, spec_kwargs={"info": {"description": (
        "机关后勤服务平台的小程序接口。所有时间为带时区偏移的 ISO 8601；错误响应统一为 "
        "{code, message, details}，错误码见 docs/error-codes.md 或 GET /api/v1/meta/error-codes。")}})
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "登录接口返回的令牌"})

    from blueprints.attachments.routes import blp as attachments_blp
    from blueprints.auth.routes import blp as auth_blp
    from blueprints.canteen import BLUEPRINTS as canteen_blps
    from blueprints.identity.routes import blp as identity_blp
    from blueprints.meta.routes import blp as meta_blp
    from blueprints.notifications.routes import blp as notifications_blp
    from blueprints.parking import BLUEPRINTS as parking_blps
    from blueprints.passes.routes import blp as passes_blp
    from blueprints.places.routes import BLUEPRINTS as places_blps
    from blueprints.points.routes import blp as points_blp
    from blueprints.ratings.routes import blp as ratings_blp
    from blueprints.rooms import BLUEPRINTS as rooms_blps
    from blueprints.visitors import BLUEPRINTS as visitors_blps
    from miniapp_api.routes import blp as wx_blp

    for blp in (meta_blp, auth_blp, wx_blp, identity_blp, *places_blps, notifications_blp, passes_blp,
                attachments_blp, ratings_blp, points_blp, *canteen_blps, *rooms_blps,
                *visitors_blps, *parking_blps):
        api.register_blueprint(blp, url_prefix=API_PREFIX + blp.url_prefix)
    app.extensions["api"] = api
    return api
