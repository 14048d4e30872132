"""服务评价与整改回访: ratings of finished orders (any order type whose lifecycle is rateable)
and the follow-ups of ratings of 2 stars or fewer (件件有问询、事事有整改、条条有回复)."""

from __future__ import annotations

from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db
from app.schemas import paginate
from blueprints.ratings import service
from blueprints.ratings.schemas import (
    AdminListArgs,
    AdminRatingPageSchema,
    AdminRatingSchema,
    FollowupListArgs,
    MineArgs,
    OptionsArgs,
    RatingBodySchema,
    RatingFollowupCloseSchema,
    RatingFollowupDetailSchema,
    RatingFollowupPageSchema,
    RatingFollowupSchema,
    RatingFollowupStartSchema,
    RatingOptionsSchema,
    RatingPageSchema,
    RatingPatchSchema,
    RatingSchema,
    RatingSummarySchema,
    ReceivedArgs,
    ReceivedRatingPageSchema,
    SummaryArgs,
)

blp = ApiBlueprint("ratings", __name__, url_prefix="", description="服务评价与整改回访")

_404 = {"schema": ErrorSchema, "description": "不存在或无权查看 (NOT_FOUND)"}


@blp.record_once
def _check_configuration(state):
    """A malformed RATING_TAGS stops the app at start."""
    service.check_tag_config(state.app.config)


def _page(stmt, args):
    return paginate(stmt, args.pop("page"), args.pop("per_page"))


# --- the rater -----------------------------------------------------------------------------

@blp.post("/ratings")
@blp.auth()
@blp.arguments(RatingBodySchema)
@blp.response(201, RatingSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=(
    "订单未完成 (RATING_ORDER_NOT_FINISHED)、超过评价期限 (RATING_WINDOW_CLOSED) 或已评价 (RATING_EXISTS)"))
@blp.alt_response(422, schema=ErrorSchema, description=(
    "服务类型不支持评价 (RATING_SERVICE_TYPE_UNKNOWN)、标签无效 (RATING_TAG_UNKNOWN)、2 星及以下未填写内容 "
    "(RATING_COMMENT_REQUIRED)、内容未通过微信内容安全检测 (CONTENT_RISKY) 或数据不符合要求"))
@blp.alt_response(503, schema=ErrorSchema, description="暂时无法进行内容安全检测 (CONTENT_CHECK_UNAVAILABLE)")
def create_rating(body):
    """评价已完成的订单（仅下单人本人，每单一次）

    订单完成后 RATING_WINDOW_DAYS 天（默认 7 天）内可评价；评价后 RATING_EDIT_HOURS 小时（默认 12 小时）
    内可修改。2 星及以下须填写内容，并自动生成差评回访，办结后答复会以消息通知评价人。
    看得到订单但不是下单人（如管理员）为 403 RATING_NOT_OWNER。
    """
    rating = service.create_rating(current_principal(), **body)
    db.session.commit()
    return rating


@blp.get("/ratings/options")
@blp.auth()
@blp.arguments(OptionsArgs, location="query")
@blp.response(200, RatingOptionsSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(422, schema=ErrorSchema, description="服务类型不支持评价 (RATING_SERVICE_TYPE_UNKNOWN)")
def rating_options(args):
    """评价页所需：可选标签、期限；带 order_id 时回答该订单能否评价及截止时间"""
    return service.options(current_principal(), args["service_type"], args.get("order_id"))


@blp.get("/ratings/mine")
@blp.auth()
@blp.arguments(MineArgs, location="query")
@blp.response(200, RatingPageSchema)
def my_ratings(args):
    """我的评价（最新在前），含差评回访的处理状态和答复"""
    return _page(service.my_ratings_query(current_principal(), args.get("service_type")), args)


@blp.get("/ratings/received")
@blp.auth()
@blp.arguments(ReceivedArgs, location="query")
@blp.response(200, ReceivedRatingPageSchema)
@blp.alt_response(404, schema=ErrorSchema, description="company_id 不是本单位 (NOT_FOUND)")
def received_ratings(args):
    """本单位收到的评价（服务单位人员）

    只有星级、标签、内容、服务类型、订单号和时间，不含评价人的任何信息；评价人选择匿名时订单号也不提供。
    不属于任何服务单位的用户为 403 FORBIDDEN。
    """
    return _page(service.received_query(current_principal(), **_filters(args)), args)


# --- administrators and auditors -----------------------------------------------------------

def _filters(args: dict) -> dict:
    return {k: args.pop(k) for k in list(args) if k not in ("page", "per_page")}


@blp.get("/ratings")
@blp.auth("admin", "auditor")
@blp.arguments(AdminListArgs, location="query")
@blp.response(200, AdminRatingPageSchema)
def list_ratings(args):
    """全部评价（管理员、审计员），可按服务类型、服务单位、星级、日期、回访筛选；匿名评价的评价人显示为“匿名”"""
    return _page(service.admin_query(**_filters(args)), args)


@blp.get("/ratings/summary")
@blp.auth("admin", "auditor")
@blp.arguments(SummaryArgs, location="query")
@blp.response(200, RatingSummarySchema)
def rating_summary(args):
    """评价统计（管理员、审计员）：数量、平均星级、各星级分布、差评数"""
    return service.summary(args.get("service_type"), args.get("company_id"), date_from=args.get("date_from"),
                           date_to=args.get("date_to"))


@blp.get("/ratings/<int:rating_id>")
@blp.auth()
@blp.response(200, AdminRatingSchema)
@blp.alt_response(404, **_404)
def get_rating(rating_id):
    """查看一条评价：评价人本人（含回访状态和答复）、管理员和审计员；其他人（包括服务单位）为 404"""
    return service.get_rating(current_principal(), rating_id)


@blp.patch("/ratings/<int:rating_id>")
@blp.auth()
@blp.arguments(RatingPatchSchema)
@blp.response(200, RatingSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="超过可修改时限 (RATING_EDIT_CLOSED)")
@blp.alt_response(422, schema=ErrorSchema, description=(
    "标签无效 (RATING_TAG_UNKNOWN)、2 星及以下未填写内容 (RATING_COMMENT_REQUIRED)、内容未通过检测 (CONTENT_RISKY)"))
@blp.alt_response(503, schema=ErrorSchema, description="暂时无法进行内容安全检测 (CONTENT_CHECK_UNAVAILABLE)")
def edit_rating(body, rating_id):
    """修改我的评价（评价后 RATING_EDIT_HOURS 小时内）

    改为 2 星及以下且尚无回访时生成差评回访；调高星级不会关闭已有回访。管理员等非评价人为 403 RATING_NOT_OWNER。
    """
    rating = service.edit_rating(current_principal(), rating_id, body)
    db.session.commit()
    return rating


# --- follow-ups (administrators) -----------------------------------------------------------

@blp.get("/rating-followups")
@blp.auth("admin", "auditor")
@blp.arguments(FollowupListArgs, location="query")
@blp.response(200, RatingFollowupPageSchema)
def list_followups(args):
    """差评回访（管理员、审计员）：未办结的在前、按应办结时间排序；超过 3 个工作日未办结标记 overdue"""
    return _page(service.followup_query(**_filters(args)), args)


@blp.get("/rating-followups/<int:followup_id>")
@blp.auth("admin", "auditor")
@blp.response(200, RatingFollowupDetailSchema)
@blp.alt_response(404, **_404)
def get_followup(followup_id):
    """查看差评回访：评价、时间线、可执行的操作（管理员、审计员）"""
    principal = current_principal()
    followup = service.get_followup(principal, followup_id)
    followup.available_transitions = service.FOLLOWUP.available(principal, followup)
    return followup


@blp.post("/rating-followups/<int:followup_id>/start")
@blp.auth("admin")
@blp.arguments(RatingFollowupStartSchema)
@blp.response(200, RatingFollowupSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="当前状态不能开始处理 (INVALID_TRANSITION)")
def start_followup(body, followup_id):
    """开始处理差评回访（管理员）：待处理 → 处理中"""
    followup = service.start_followup(current_principal(), followup_id, body["note"])
    db.session.commit()
    return followup


@blp.post("/rating-followups/<int:followup_id>/close")
@blp.auth("admin")
@blp.arguments(RatingFollowupCloseSchema)
@blp.response(200, RatingFollowupSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="已办结 (INVALID_TRANSITION)")
def close_followup(body, followup_id):
    """办结差评回访（管理员）：填写整改措施和答复，答复以消息通知评价人"""
    followup = service.close_followup(current_principal(), followup_id, body["action_taken"], body["reply"])
    db.session.commit()
    return followup
