import marshmallow as ma
from marshmallow import validate

from app.schemas import LocalDateTime


class TokenSchema(ma.Schema):
    token = ma.fields.String(required=True, metadata={"description": "Bearer 令牌"})
    expires_at = LocalDateTime()
    user = ma.fields.Nested("UserSchema")
    needs_binding = ma.fields.Boolean(metadata={
        "description": "true：尚未绑定机关人员身份（当前为访客），可调用 /wx/bind 或 /wx/bind-phone"})


class DevLoginSchema(ma.Schema):
    employee_no = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))


class SessionSchema(ma.Schema):
    id = ma.fields.Integer()
    client = ma.fields.String()
    created_at = LocalDateTime()
    expires_at = LocalDateTime()
    current = ma.fields.Boolean()
