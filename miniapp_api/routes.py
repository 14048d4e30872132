"""WeChat mini-program sign-in and identity binding."""

import marshmallow as ma
from flask import current_app
from marshmallow import validate

from app.auth import ApiBlueprint, current_principal
from app.extensions import db, limiter
from blueprints.auth.schemas import TokenSchema
from miniapp_api import service

blp = ApiBlueprint("wechat", __name__, url_prefix="/wx", description="微信小程序登录与身份绑定")


class LoginSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=128),
                            metadata={"description": "wx.login() 返回的 code"})


class BindRosterSchema(ma.Schema):
    employee_no = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=50))
    phone = ma.fields.String(required=True, validate=validate.Length(min=1, max=20))


class BindPhoneSchema(ma.Schema):
    phone_code = ma.fields.String(required=True, validate=validate.Length(min=1, max=128),
                                  metadata={"description": "手机号快速验证组件返回的 code"})


def _bind_limit() -> str:
    return current_app.config["RATELIMIT_BIND"]


@blp.post("/login")
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN_ADDR"])
@blp.arguments(LoginSchema)
@blp.response(200, TokenSchema)
def login(body):
    """微信登录：首次登录为访客身份，needs_binding 为 true 时可绑定机关人员身份"""
    payload = service.login(body["code"])
    db.session.commit()
    return payload


@blp.post("/bind")
@blp.auth()  # signed in; anyone but a visitor gets WX_ALREADY_BOUND
@limiter.limit(_bind_limit)
@blp.arguments(BindRosterSchema)
@blp.response(200, TokenSchema)
def bind(body):
    """按花名册绑定（工号 + 姓名 + 手机号）；返回新令牌，原访客令牌失效"""
    payload = service.bind_by_roster(current_principal(), body["employee_no"], body["name"], body["phone"])
    db.session.commit()
    return payload


@blp.post("/bind-phone")
@blp.auth()  # signed in; anyone but a visitor gets WX_ALREADY_BOUND
@limiter.limit(_bind_limit)
@blp.arguments(BindPhoneSchema)
@blp.response(200, TokenSchema)
def bind_phone(body):
    """按微信手机号绑定（手机号快速验证组件）；返回新令牌，原访客令牌失效"""
    payload = service.bind_by_phone_code(current_principal(), body["phone_code"])
    db.session.commit()
    return payload
