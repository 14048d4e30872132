"""In-app messages (站内消息) and subscribe-message consents of the signed-in user."""

from app import notify
from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db
from app.schemas import paginate
from blueprints.notifications import service
from blueprints.notifications.schemas import (
    ConsentBodySchema,
    ConsentSchema,
    MessageListArgs,
    MessagePageSchema,
    MessageSchema,
    ReadAllSchema,
    TemplateSchema,
)

blp = ApiBlueprint("notifications", __name__, url_prefix="", description="站内消息与订阅消息授权")


@blp.record_once
def _check_configuration(state):
    """A bad template configuration or mini-program state stops the app at start."""
    notify.templates(state.app)
    with state.app.app_context():
        notify.miniprogram_state()


@blp.get("/messages")
@blp.auth()
@blp.arguments(MessageListArgs, location="query")
@blp.response(200, MessagePageSchema)
def list_messages(args):
    """我的站内消息（最新在前），含未读总数；unread_only=true 只看未读"""
    user_id = current_principal().user_id
    result = paginate(service.message_query(user_id, args["unread_only"]), args["page"], args["per_page"])
    result["unread"] = service.unread_count(user_id)
    return result


@blp.post("/messages/<int:message_id>/read")
@blp.auth()
@blp.response(200, MessageSchema)
@blp.alt_response(404, schema=ErrorSchema, description="消息不存在或不属于当前用户 (NOT_FOUND)")
def read_message(message_id):
    """标记一条消息为已读（重复标记不改变首次阅读时间）"""
    message = service.mark_read(current_principal().user_id, message_id)
    db.session.commit()
    return message


@blp.post("/messages/read-all")
@blp.auth()
@blp.response(200, ReadAllSchema)
def read_all():
    """全部标记为已读"""
    updated = service.mark_all_read(current_principal().user_id)
    db.session.commit()
    return {"updated": updated, "unread": 0}


@blp.get("/notifications/templates")
@blp.auth()
@blp.response(200, TemplateSchema(many=True))
def list_templates():
    """可订阅的消息模板及我的订阅状态（tmplIds 传给 wx.requestSubscribeMessage）"""
    return service.template_states(current_principal().user_id)


@blp.post("/notifications/consents")
@blp.auth()
@blp.arguments(ConsentBodySchema)
@blp.response(200, ConsentSchema(many=True))
@blp.alt_response(422, schema=ErrorSchema, description="模板名未知 (NOTIFY_TEMPLATE_UNKNOWN) 或数据不符合要求")
def record_consents(body):
    """记录 wx.requestSubscribeMessage 的结果：每次“允许”一次性模板增加一次可发送次数；
    长期订阅模板“允许”后持续有效，直到“拒绝”"""
    consents = notify.record_consents(current_principal().user_id, body["accepted"], body["rejected"])
    db.session.commit()
    return consents
