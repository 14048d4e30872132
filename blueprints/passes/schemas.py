import marshmallow as ma
from marshmallow import validate


class VerifyBodySchema(ma.Schema):
    token = ma.fields.String(required=True, validate=validate.Length(min=1, max=300),
                             metadata={"description": "扫描二维码得到的凭证文本"})


class HolderSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String(allow_none=True)


class ScanResultSchema(ma.Schema):
    purpose = ma.fields.String(required=True, metadata={"description": "凭证用途，如 meal、visit"})
    order_type = ma.fields.String(required=True)
    order_id = ma.fields.Integer(required=True)
    transition = ma.fields.String(required=True, metadata={"example": "serve"})
    transition_label = ma.fields.String(required=True, metadata={"example": "取餐核销"})
    from_state = ma.fields.String(required=True)
    state = ma.fields.String(required=True, metadata={"description": "核验后的状态"})
    state_label = ma.fields.String(required=True, metadata={"example": "已取餐"})
    holder = ma.fields.Nested(HolderSchema, required=True)
    summary = ma.fields.Dict(required=True, metadata={"description": "该用途提供的订单摘要（供核验人员查看）"})
