"""Facts about the API itself: the error-code registry and the roles."""

import marshmallow as ma

from app.auth import ApiBlueprint
from app.errors import REGISTRY
from models import ROLES

blp = ApiBlueprint("meta", __name__, url_prefix="/meta", description="接口元数据：错误码、角色")


class ErrorCodeSchema(ma.Schema):
    code = ma.fields.String()
    status = ma.fields.Integer()
    message = ma.fields.String()
    meaning = ma.fields.String()


class RoleSchema(ma.Schema):
    role = ma.fields.String()
    label = ma.fields.String()
    scopes = ma.fields.List(ma.fields.String())


@blp.get("/error-codes")
@blp.response(200, ErrorCodeSchema(many=True))
def error_codes():
    """所有错误码 (the error-code registry)"""
    return [{"code": c, "status": s, "message": m, "meaning": d} for c, (s, m, d) in REGISTRY.items()]


@blp.get("/roles")
@blp.response(200, RoleSchema(many=True))
def roles():
    """角色列表 (roles and the scopes each may carry)"""
    return [{"role": r, "label": label, "scopes": list(scopes)} for r, (label, scopes) in ROLES.items()]
