"""服务评价 in the panel: ratings (read-only) and follow-ups of low ratings for administrators
and auditors, and 本单位 → 收到的评价 for contractor managers.

- Ratings: the rater's name only when the rating is not anonymous ("匿名" otherwise); there is
  no filter, search or sort by rater, so an anonymous rater cannot be found by narrowing a
  list either. Never the rater's id.
- Follow-ups: the list (overdue ones marked), and two row actions for administrators, 开始处理
  and 办结 (action taken + reply), which call blueprints.ratings.service like the API does
  (the rater is notified on closing; audited). Auditors only read.
- Contractor managers see their company's ratings with nothing about the rater (no order
  number either when the rater chose anonymity), like GET /api/v1/ratings/received.
"""

from __future__ import annotations

from flask import request
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, FilterEqual, FilterLike, IntEqualFilter
from flask_admin.model.template import EndpointLinkRowAction
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import func
from sqlalchemy.orm import joinedload
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from admin.views.base import MSG_NOT_FOUND, WRITE_ENDPOINTS, PanelModelView, format_local, local_datetime_filters
from admin.views.contractor import ContractorScopedView
from blueprints.ratings import service
from blueprints.ratings.service import ANONYMOUS, FOLLOWUP
from models import User
from models.ratings import FOLLOWUP_STATUSES, FOLLOWUP_TEXT_MAX, Rating, RatingFollowup

CATEGORY = "服务评价"
STARS_CHOICES = [(str(n), f"{n} 星") for n in range(1, 6)]
VERDICT_LABELS = {"pass": "通过", "review": "需人工复核", "skipped": "未检测（未配置微信）"}
FOLLOWUP_CHOICES = [(status, FOLLOWUP.label(status)) for status in FOLLOWUP_STATUSES]


def _service_options():
    # Read once, when the view is built (Flask-Admin caches filter options): every domain's
    # lifecycle is registered by then.
    return [(name, lc.title) for name, lc in sorted(service.rateable_types().items())]


# --- formatters ----------------------------------------------------------------------------

def _service(view, context, model, name):
    rating = model if isinstance(model, Rating) else model.rating
    return service.service_title(rating.service_type)


def _stars(view, context, model, name):
    rating = model if isinstance(model, Rating) else model.rating
    return "★" * rating.stars + "☆" * (5 - rating.stars)


def _tags(view, context, model, name):
    return "、".join(model.tags or [])


def _rater(view, context, model, name):
    rating = model if isinstance(model, Rating) else model.rating
    if rating.anonymous:
        return ANONYMOUS
    user = rating.user
    return f"{user.name}（{user.department.name}）" if user.department else user.name


def _verdict(view, context, model, name):
    return VERDICT_LABELS.get(model.content_check, "") if model.content_check else ""


def _followup_status(view, context, model, name):
    followup = model.followup
    if followup is None:
        return ""
    label = FOLLOWUP.label(followup.status)
    return f"{label}（超期）" if service.is_overdue(followup) else label


def _status(view, context, model, name):
    label = FOLLOWUP.label(model.status)
    if service.is_overdue(model):
        return Markup('{} <span class="badge badge-danger">超期</span>').format(label)
    return label


def _rating_field(field):
    def formatter(view, context, model, name):
        value = getattr(model.rating, field)
        return "" if value is None else value
    return formatter


def _company(view, context, model, name):
    company = model.rating.company
    return company.name if company else ""


def _rated_at(view, context, model, name):
    return format_local(model.rating.created_at)


def _received_order(view, context, model, name):
    return "" if model.anonymous else model.order_id


# --- filters -------------------------------------------------------------------------------

class OverdueFilter(BooleanEqualFilter):
    """超期: not closed and past due (computed, like the API's overdue flag)."""

    def apply(self, query, value, alias=None):
        late = (RatingFollowup.status != "closed") & (RatingFollowup.due_at < func.now())
        return query.filter(late if value else ~late)


class HasFollowupFilter(BooleanEqualFilter):
    def apply(self, query, value, alias=None):
        has = Rating.followup.has()
        return query.filter(has if value else ~has)


class _ReadOnly(PanelModelView):
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True  # ratings only grow: no COUNT(*) per page

    def can_write(self, principal) -> bool:
        return False


# --- ratings -------------------------------------------------------------------------------

class RatingView(_ReadOnly):
    column_default_sort = ("id", True)
    column_list = ["id", "created_at", "service_type", "order_id", "company", "stars", "tags", "comment", "rater",
                   "content_check", "followup"]
    column_details_list = ["id", "created_at", "updated_at", "edit_count", "service_type", "order_id", "company",
                           "stars", "tags", "comment", "rater", "anonymous", "content_check", "followup"]
    column_labels = {"id": "序号", "created_at": "评价时间", "updated_at": "最近修改", "edit_count": "修改次数",
                     "service_type": "服务类型", "order_id": "订单号", "company": "服务单位", "stars": "星级",
                     "tags": "标签", "comment": "评价内容", "rater": "评价人", "anonymous": "匿名",
                     "content_check": "内容安全", "followup": "差评回访"}
    column_formatters = {"service_type": _service, "stars": _stars, "tags": _tags, "rater": _rater,
                         "content_check": _verdict, "followup": _followup_status}
    column_formatters_detail = column_formatters
    column_sortable_list = ["created_at", "stars"]
    column_searchable_list = ["comment"]
    column_filters = [
        FilterEqual(Rating.service_type, "服务类型", options=_service_options),
        IntEqualFilter(Rating.stars, "星级", options=STARS_CHOICES),
        FilterLike("company.name", "服务单位"),
        IntEqualFilter(Rating.company_id, "服务单位 ID"),
        FilterLike(Rating.comment, "评价内容"),
        FilterEqual(Rating.content_check, "内容安全", options=list(VERDICT_LABELS.items())),
        HasFollowupFilter(Rating.id, "有差评回访"),
        *local_datetime_filters(Rating.created_at, "评价时间"),
    ]

    def get_query(self):
        return super().get_query().options(joinedload(Rating.user).joinedload(User.department),
                                           joinedload(Rating.company), joinedload(Rating.followup))


# --- follow-ups ----------------------------------------------------------------------------

class StartForm(FlaskForm):
    note = TextAreaField("备注", validators=[Optional(), Length(max=200)], description="写入处理时间线（可不填）")


class CloseForm(FlaskForm):
    action_taken = TextAreaField("整改措施", validators=[DataRequired("请填写整改措施"),
                                                     Length(max=FOLLOWUP_TEXT_MAX)])
    reply = TextAreaField("答复", validators=[DataRequired("请填写给评价人的答复"), Length(max=FOLLOWUP_TEXT_MAX)],
                          description="以站内消息（及订阅消息）送达评价人")


class FollowupView(_ReadOnly):
    """The generic create/edit/delete stay off; administrators work a follow-up through the
    two row actions (auditors see none of them and are refused by the endpoints)."""

    write_endpoints = WRITE_ENDPOINTS | {"start_view", "close_view"}
    column_default_sort = ("id", True)
    column_list = ["id", "created_at", "service", "company", "stars", "comment", "rater", "status", "due_at",
                   "handler", "closed_at"]
    column_details_list = ["id", "created_at", "rated_at", "service", "order_id", "company", "stars", "comment",
                           "rater", "status", "due_at", "started_at", "closed_at", "handler", "action_taken",
                           "reply"]
    column_labels = {"id": "序号", "created_at": "开启时间", "rated_at": "评价时间", "service": "服务类型",
                     "order_id": "订单号", "company": "服务单位", "stars": "星级", "comment": "评价内容",
                     "rater": "评价人", "status": "状态", "due_at": "应办结", "started_at": "开始处理",
                     "closed_at": "办结时间", "handler": "经办人", "action_taken": "整改措施", "reply": "答复"}
    column_formatters = {"service": _service, "company": _company, "stars": _stars,
                         "comment": _rating_field("comment"), "order_id": _rating_field("order_id"),
                         "rater": _rater, "status": _status, "rated_at": _rated_at}
    column_formatters_detail = column_formatters
    column_sortable_list = ["created_at", "due_at"]
    column_filters = [FilterEqual(RatingFollowup.status, "状态", options=FOLLOWUP_CHOICES),
                      OverdueFilter(RatingFollowup.id, "超期未办结"),
                      *local_datetime_filters(RatingFollowup.created_at, "开启时间")]
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-play", ".start_view", title="开始处理"),
                                EndpointLinkRowAction("fa fa-check", ".close_view", title="办结")]

    def can_write(self, principal) -> bool:
        return self.can_read(principal) and principal.is_admin

    def get_query(self):
        rating = joinedload(RatingFollowup.rating)
        return super().get_query().options(rating.joinedload(Rating.user).joinedload(User.department),
                                           rating.joinedload(Rating.company), joinedload(RatingFollowup.handler))

    def _act(self, form, title: str, intro: str, submit: str, run, done: str):
        followup = self.get_one(request.args.get("id"))
        if followup is None:
            return self.error_page(404, "记录不存在", MSG_NOT_FOUND)
        rating = followup.rating
        intro = (f"{service.service_title(rating.service_type)}，{rating.stars} 星：{rating.comment or ''}"
                 f"（当前状态：{FOLLOWUP.label(followup.status)}）。{intro}")
        return self.action_page(form, f"{title}：差评回访 {followup.id}", intro, lambda: run(followup.id), done,
                                submit_label=submit)

    @expose("/start/", methods=("GET", "POST"))
    def start_view(self):
        form = StartForm()
        return self._act(form, "开始处理", "开始处理后状态为“处理中”。", "开始处理",
                         lambda fid: service.start_followup(self.principal, fid,
                                                            (form.note.data or "").strip() or None),
                         "已开始处理")

    @expose("/close/", methods=("GET", "POST"))
    def close_view(self):
        form = CloseForm()
        return self._act(form, "办结", "办结后答复将通知评价人，不能再修改。", "办结并答复",
                         lambda fid: service.close_followup(self.principal, fid, form.action_taken.data,
                                                            form.reply.data),
                         "已办结，答复已通知评价人")


# --- contractor managers -------------------------------------------------------------------

class ReceivedRatingView(ContractorScopedView):
    """本单位收到的评价: nothing about the rater (as GET /api/v1/ratings/received)."""

    simple_list_pager = True
    column_default_sort = ("id", True)
    column_list = ["created_at", "service_type", "order_id", "stars", "tags", "comment"]
    column_details_list = column_list
    column_labels = {"created_at": "评价时间", "service_type": "服务类型", "order_id": "订单号", "stars": "星级",
                     "tags": "标签", "comment": "评价内容"}
    column_formatters = {"service_type": _service, "stars": _stars, "tags": _tags, "order_id": _received_order}
    column_formatters_detail = column_formatters
    column_sortable_list = ["created_at", "stars"]
    column_filters = [FilterEqual(Rating.service_type, "服务类型", options=_service_options),
                      IntEqualFilter(Rating.stars, "星级", options=STARS_CHOICES),
                      *local_datetime_filters(Rating.created_at, "评价时间")]

    def scope(self, query):
        return query.filter(Rating.company_id.in_(self.managed_ids()))


def add_views(admin) -> None:
    admin.add_view(RatingView(Rating, name="评价记录", category=CATEGORY, endpoint="rating", url="ratings"))
    admin.add_view(FollowupView(RatingFollowup, name="差评回访", category=CATEGORY, endpoint="rating_followup",
                                url="rating-followups"))
    admin.add_view(ReceivedRatingView(Rating, name="收到的评价", category="本单位", endpoint="received_rating",
                                      url="received-ratings"))
