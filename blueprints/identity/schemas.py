import marshmallow as ma
from marshmallow import validate

from app.schemas import LocalDateTime, PageArgs, page_schema
from blueprints.identity.service import masked_phone
from models import COMPANY_KINDS, ROLES, SCOPE_KINDS


class RefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class GrantSchema(ma.Schema):
    role = ma.fields.String(required=True, validate=validate.OneOf(list(ROLES)))
    scope_kind = ma.fields.String(load_default="global", validate=validate.OneOf(SCOPE_KINDS))
    scope_id = ma.fields.Integer(load_default=None, allow_none=True)


class UserSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": "staff | contractor | visitor"})
    name = ma.fields.String()
    employee_no = ma.fields.String(allow_none=True)
    department = ma.fields.Nested(RefSchema, allow_none=True)
    company = ma.fields.Nested(RefSchema, allow_none=True)
    phone = ma.fields.Function(masked_phone, metadata={"description": "脱敏手机号 138****1234"})
    is_active = ma.fields.Boolean()
    roles = ma.fields.List(ma.fields.Nested(GrantSchema))
    created_at = LocalDateTime()


UserPageSchema = page_schema(UserSchema, "UserPage")


class UserListArgs(PageArgs):
    q = ma.fields.String(validate=validate.Length(max=50), metadata={"description": "姓名片段或工号"})
    kind = ma.fields.String(validate=validate.OneOf(["staff", "contractor", "visitor"]))
    company_id = ma.fields.Integer()
    department_id = ma.fields.Integer()


class RolesBodySchema(ma.Schema):
    roles = ma.fields.List(ma.fields.Nested(GrantSchema), required=True)


class DisableBodySchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))


class DepartmentSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    code = ma.fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,32}$"))
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    parent_id = ma.fields.Integer(allow_none=True, load_default=None)
    sort_order = ma.fields.Integer(load_default=0)


class CompanySchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = ma.fields.String(required=True, validate=validate.OneOf(list(COMPANY_KINDS)))
    contact_name = ma.fields.String(allow_none=True, validate=validate.Length(max=50))
    is_active = ma.fields.Boolean(dump_only=True)


class InviteCreateSchema(ma.Schema):
    role = ma.fields.String(required=True, validate=validate.OneOf(list(ROLES)))
    note = ma.fields.String(validate=validate.Length(max=100), load_default=None)


class InviteSchema(ma.Schema):
    id = ma.fields.Integer()
    company_id = ma.fields.Integer()
    role = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    expires_at = LocalDateTime()
    used_at = LocalDateTime(allow_none=True)
    revoked_at = LocalDateTime(allow_none=True)


class InviteCreatedSchema(InviteSchema):
    code = ma.fields.String(metadata={"description": "一次性邀请码，只显示这一次"})


class InviteRedeemSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=validate.Length(min=6, max=20))
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=50))
    phone = ma.fields.String(required=True, validate=validate.Length(max=20))


class RosterArgs(ma.Schema):
    disable_missing = ma.fields.Boolean(load_default=True, metadata={
        "description": "停用名单中没有的在册人员（离职）"})
    dry_run = ma.fields.Boolean(load_default=False, metadata={"description": "只校验，不导入"})


class RosterReportSchema(ma.Schema):
    dry_run = ma.fields.Boolean()
    rows = ma.fields.Integer()
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()
    reenabled = ma.fields.Integer()
    disabled = ma.fields.Integer()
    leavers = ma.fields.List(ma.fields.String(), metadata={"description": "停用（离职）人员的工号"})
