import marshmallow as ma
from marshmallow import validate

from app.schemas import LocalDateTime, PageArgs, page_schema


class MessageSchema(ma.Schema):
    id = ma.fields.Integer()
    template = ma.fields.String(metadata={"description": "模板名，例如 order_status_changed"})
    title = ma.fields.String()
    body = ma.fields.String()
    page = ma.fields.String(allow_none=True, metadata={"description": "小程序页面路径（可跳转时）"})
    created_at = LocalDateTime()
    read_at = LocalDateTime(allow_none=True)
    read = ma.fields.Boolean(metadata={"description": "是否已读"})


class MessagePageSchema(page_schema(MessageSchema, "MessagePageBase")):
    unread = ma.fields.Integer(required=True, metadata={"description": "未读消息总数"})


class MessageListArgs(PageArgs):
    unread_only = ma.fields.Boolean(load_default=False, metadata={"description": "只看未读"})


class ReadAllSchema(ma.Schema):
    updated = ma.fields.Integer(metadata={"description": "本次标记为已读的条数"})
    unread = ma.fields.Integer()


class ConsentBodySchema(ma.Schema):
    accepted = ma.fields.List(ma.fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                              validate=validate.Length(max=20),
                              metadata={"description": "wx.requestSubscribeMessage 中用户选择“允许”的模板名"})
    rejected = ma.fields.List(ma.fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                              validate=validate.Length(max=20),
                              metadata={"description": "用户拒绝（或被屏蔽）的模板名"})

    @ma.validates_schema
    def _disjoint(self, data, **kwargs):
        both = sorted(set(data.get("accepted", [])) & set(data.get("rejected", [])))
        if both:
            raise ma.ValidationError(f"同一模板不能既允许又拒绝：{', '.join(both)}", "rejected")


class ConsentSchema(ma.Schema):
    template = ma.fields.String()
    remaining = ma.fields.Integer(metadata={"description": "剩余一次性订阅次数"})
    long_term = ma.fields.Boolean(metadata={"description": "长期订阅是否有效"})
    accepted_at = LocalDateTime(allow_none=True)
    rejected_at = LocalDateTime(allow_none=True)


class TemplateSchema(ma.Schema):
    name = ma.fields.String(metadata={"description": "模板名（记录订阅时使用）"})
    template_id = ma.fields.String(
        metadata={"description": "微信模板 ID（传给 wx.requestSubscribeMessage 的 tmplIds）"})
    long_term = ma.fields.Boolean(metadata={"description": "是否长期订阅模板"})
    remaining = ma.fields.Integer(metadata={"description": "当前用户剩余一次性订阅次数"})
    long_term_accepted = ma.fields.Boolean(metadata={"description": "当前用户的长期订阅是否有效"})
