"""Schemas of ratings and follow-ups. Who sees what is decided by the schema a route uses:

- `RatingSchema`: the rater's own ratings (with the follow-up's status and reply);
- `AdminRatingSchema`: administrators and auditors (plus the rater, of their own rating): the
  rater's name and department unless the rating is anonymous ("匿名"), the content verdict;
- `ReceivedRatingSchema`: contractors: nothing about the rater at all (no id, name, department,
  per-rater token; no order id when the rater chose to be anonymous).
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.lifecycle import TimelineField
from app.schemas import BusinessDate, Id, LocalDateTime, PageArgs, computed, page_schema
from blueprints.ratings import service
from blueprints.ratings.service import ANONYMOUS, FOLLOWUP
from models.ratings import COMMENT_MAX, FOLLOWUP_STATUSES, FOLLOWUP_TEXT_MAX, MAX_TAGS, TAG_MAX_LENGTH

# --- requests -------------------------------------------------------------------------------

def _tags_field(**kwargs):
    return ma.fields.List(ma.fields.String(validate=validate.Length(min=1, max=TAG_MAX_LENGTH)),
                          validate=validate.Length(max=MAX_TAGS),
                          metadata={"description": f"标签（最多 {MAX_TAGS} 个），取自 GET /ratings/options 的 tags"},
                          **kwargs)


class RatingBodySchema(ma.Schema):
    service_type = ma.fields.String(required=True, validate=validate.Length(min=1, max=32),
                                    metadata={"description": "订单类型（服务类型），例如 repair", "example": "repair"})
    order_id = Id(required=True)
    stars = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=5), metadata={"example": 5})
    tags = _tags_field(load_default=list)
    comment = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=COMMENT_MAX),
                               metadata={"description": f"评价内容（最多 {COMMENT_MAX} 字；2 星及以下必填）"})
    anonymous = ma.fields.Boolean(load_default=False, metadata={
        "description": "匿名评价：管理员看到“匿名”，服务单位在任何情况下都看不到评价人"})


class RatingPatchSchema(ma.Schema):
    stars = ma.fields.Integer(validate=validate.Range(min=1, max=5))
    tags = _tags_field()
    comment = ma.fields.String(allow_none=True, validate=validate.Length(max=COMMENT_MAX))
    anonymous = ma.fields.Boolean()

    @ma.validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("请至少修改一项（stars、tags、comment、anonymous）", "_schema")


def _check_ranges(data):
    if data.get("stars_min") and data.get("stars_max") and data["stars_min"] > data["stars_max"]:
        raise ma.ValidationError("最低星级不能高于最高星级", "stars_min")
    if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
        raise ma.ValidationError("开始日期不能晚于结束日期", "date_from")


class _RatingFilterArgs(PageArgs):
    service_type = ma.fields.String(validate=validate.Length(min=1, max=32))
    stars_min = ma.fields.Integer(validate=validate.Range(min=1, max=5))
    stars_max = ma.fields.Integer(validate=validate.Range(min=1, max=5))
    date_from = BusinessDate(metadata={"description": "评价日期（北京时间）起，含当天"})
    date_to = BusinessDate(metadata={"description": "评价日期（北京时间）止，含当天"})

    @ma.validates_schema
    def _ranges(self, data, **kwargs):
        _check_ranges(data)


class MineArgs(PageArgs):
    service_type = ma.fields.String(validate=validate.Length(min=1, max=32))


class ReceivedArgs(_RatingFilterArgs):
    company_id = Id(metadata={"description": "只看其中一个本单位（属于多个单位时）"})


class AdminListArgs(_RatingFilterArgs):
    company_id = Id()
    has_followup = ma.fields.Boolean(metadata={"description": "是否有差评回访"})
    followup_status = ma.fields.String(validate=validate.OneOf(FOLLOWUP_STATUSES))
    flagged = ma.fields.Boolean(metadata={"description": "内容安全结果为“需人工复核”（review）"})


class SummaryArgs(ma.Schema):
    service_type = ma.fields.String(validate=validate.Length(min=1, max=32))
    company_id = Id()
    date_from = BusinessDate(metadata={"description": "评价日期（北京时间）起，含当天"})
    date_to = BusinessDate(metadata={"description": "评价日期（北京时间）止，含当天"})

    @ma.validates_schema
    def _ranges(self, data, **kwargs):
        _check_ranges(data)


class OptionsArgs(ma.Schema):
    service_type = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    order_id = Id(metadata={"description": "给出时回答该订单能否评价、评价截止时间、是否已评价"})


class FollowupListArgs(PageArgs):
    status = ma.fields.String(validate=validate.OneOf(FOLLOWUP_STATUSES),
                              metadata={"description": "open 待处理 / in_progress 处理中 / closed 已办结"})
    overdue = ma.fields.Boolean(metadata={"description": "超过 3 个工作日未办结"})
    service_type = ma.fields.String(validate=validate.Length(min=1, max=32))
    company_id = Id()


class RatingFollowupStartSchema(ma.Schema):
    note = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                            metadata={"description": "备注（写入时间线）"})


class RatingFollowupCloseSchema(ma.Schema):
    action_taken = ma.fields.String(required=True, validate=validate.Length(min=1, max=FOLLOWUP_TEXT_MAX),
                                    metadata={"description": "整改措施"})
    reply = ma.fields.String(required=True, validate=validate.Length(min=1, max=FOLLOWUP_TEXT_MAX),
                             metadata={"description": "给评价人的答复（以站内消息和订阅消息送达）"})


# --- responses ------------------------------------------------------------------------------

def _service_title(obj) -> str:
    return service.service_title(obj.service_type)


class RatingFollowupStatusSchema(ma.Schema):
    """A rating's follow-up as its rater sees it: the state and the answer."""

    id = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "open / in_progress / closed"})
    status_label = computed(ma.fields.String, lambda f: FOLLOWUP.label(f.status),
                            metadata={"example": "已办结"})
    reply = ma.fields.String(allow_none=True, metadata={"description": "答复（办结后）"})
    created_at = LocalDateTime()
    closed_at = LocalDateTime(allow_none=True)


class RatingSchema(ma.Schema):
    id = ma.fields.Integer()
    service_type = ma.fields.String()
    service_title = computed(ma.fields.String, _service_title, metadata={"example": "物业报修"})
    order_id = ma.fields.Integer()
    company_id = ma.fields.Integer(allow_none=True, metadata={"description": "评价时负责的服务单位"})
    company_name = computed(ma.fields.String, lambda r: r.company.name if r.company else None, allow_none=True)
    stars = ma.fields.Integer()
    tags = ma.fields.List(ma.fields.String())
    comment = ma.fields.String(allow_none=True)
    anonymous = ma.fields.Boolean()
    created_at = LocalDateTime()
    updated_at = LocalDateTime()
    edit_count = ma.fields.Integer(metadata={"description": "已修改次数"})
    editable_until = computed(LocalDateTime, service.editable_until, metadata={"description": "可修改截止时间"})
    editable = computed(ma.fields.Boolean, service.is_editable, metadata={"description": "现在是否还能修改"})
    followup = ma.fields.Nested(RatingFollowupStatusSchema, allow_none=True,
                                metadata={"description": "差评回访（2 星及以下时）"})


class RatingRaterSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    department = computed(ma.fields.String, lambda u: u.department.name if u.department else None,
                          allow_none=True)


class AdminRatingFollowupBriefSchema(RatingFollowupStatusSchema):
    due_at = LocalDateTime(metadata={"description": "应办结时间（开启后 3 个工作日）"})
    overdue = computed(ma.fields.Boolean, service.is_overdue, metadata={"description": "已超期未办结"})


class AdminRatingSchema(RatingSchema):
    rater = computed(ma.fields.Nested, lambda r: None if r.anonymous else r.user, nested=RatingRaterSchema,
                     allow_none=True, metadata={"description": "评价人（匿名评价为 null）"})
    rater_name = computed(ma.fields.String, lambda r: ANONYMOUS if r.anonymous else r.user.name,
                          metadata={"example": ANONYMOUS})
    content_check = ma.fields.String(allow_none=True, metadata={
        "description": "评价内容的微信内容安全结果：pass / review（需人工复核）/ skipped（未配置微信）；无内容为 null"})
    flagged = ma.fields.Boolean(metadata={"description": "需人工复核"})
    followup = ma.fields.Nested(AdminRatingFollowupBriefSchema, allow_none=True)


class ReceivedRatingSchema(ma.Schema):
    """A rating as the rated contractor sees it: never anything about the rater."""

    id = ma.fields.Integer()
    service_type = ma.fields.String()
    service_title = computed(ma.fields.String, _service_title)
    order_id = computed(ma.fields.Integer, lambda r: None if r.anonymous else r.order_id, allow_none=True,
                        metadata={"description": "订单号；评价人选择匿名时为 null"})
    company_id = ma.fields.Integer()
    stars = ma.fields.Integer()
    tags = ma.fields.List(ma.fields.String())
    comment = ma.fields.String(allow_none=True)
    created_at = LocalDateTime()


RatingPageSchema = page_schema(RatingSchema, "RatingPage")
AdminRatingPageSchema = page_schema(AdminRatingSchema, "AdminRatingPage")
ReceivedRatingPageSchema = page_schema(ReceivedRatingSchema, "ReceivedRatingPage")


class RatingSummarySchema(ma.Schema):
    count = ma.fields.Integer(metadata={"description": "评价数"})
    average = ma.fields.Float(allow_none=True, metadata={"description": "平均星级（两位小数；无评价为 null）"})
    distribution = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(),
                                  metadata={"description": "各星级的评价数 {\"1\": n, …, \"5\": n}"})
    low_count = ma.fields.Integer(metadata={"description": "2 星及以下的评价数"})


class RatingOptionsSchema(ma.Schema):
    service_type = ma.fields.String()
    service_title = ma.fields.String()
    tags = ma.fields.List(ma.fields.String(), metadata={"description": "可选标签"})
    max_tags = ma.fields.Integer()
    comment_max = ma.fields.Integer(metadata={"description": "评价内容最多字数"})
    comment_required_at_or_below = ma.fields.Integer(metadata={"description": "该星级及以下必须填写评价内容"})
    window_days = ma.fields.Integer(metadata={"description": "订单完成后可评价的天数"})
    edit_hours = ma.fields.Integer(metadata={"description": "评价后可修改的小时数"})
    order_id = ma.fields.Integer(metadata={"description": "以下字段仅在请求带 order_id 时返回"})
    can_rate = ma.fields.Boolean(metadata={"description": "当前用户现在能否评价该订单"})
    reason = ma.fields.String(allow_none=True, metadata={
        "description": "不能评价的原因（错误码）：RATING_NOT_OWNER、RATING_ORDER_NOT_FINISHED、RATING_EXISTS、"
                       "RATING_WINDOW_CLOSED"})
    reason_message = ma.fields.String(allow_none=True)
    finished_at = LocalDateTime(allow_none=True, metadata={"description": "订单完成时间"})
    rateable_until = LocalDateTime(allow_none=True, metadata={"description": "评价截止时间"})
    already_rated = ma.fields.Boolean(allow_none=True,
                                      metadata={"description": "是否已评价（仅下单人本人可见，其他人为 null）"})
    rating_id = ma.fields.Integer(allow_none=True, metadata={"description": "本人已作的评价"})


class FollowedRatingSchema(AdminRatingSchema):
    """The rating of a follow-up (inside the follow-up: without the follow-up again)."""

    class Meta:
        exclude = ("followup",)


class RatingFollowupSchema(ma.Schema):
    id = ma.fields.Integer()
    rating_id = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "open / in_progress / closed"})
    status_label = computed(ma.fields.String, lambda f: FOLLOWUP.label(f.status), metadata={"example": "待处理"})
    due_at = LocalDateTime(metadata={"description": "应办结时间（开启后 3 个工作日）"})
    overdue = computed(ma.fields.Boolean, service.is_overdue, metadata={"description": "已超期未办结"})
    created_at = LocalDateTime()
    started_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    action_taken = ma.fields.String(allow_none=True, metadata={"description": "整改措施"})
    reply = ma.fields.String(allow_none=True, metadata={"description": "答复"})
    handler_name = computed(ma.fields.String, lambda f: f.handler.name if f.handler else None, allow_none=True,
                            metadata={"description": "经办管理员"})
    rating = ma.fields.Nested(FollowedRatingSchema)


RatingFollowupPageSchema = page_schema(RatingFollowupSchema, "RatingFollowupPage")


class RatingFollowupDetailSchema(RatingFollowupSchema):
    timeline = TimelineField(FOLLOWUP)
    available = computed(ma.fields.List, lambda f: getattr(f, "available_transitions", []),
                         cls_or_instance=ma.fields.String(),
                         metadata={"description": "当前用户可执行的操作：start（开始处理）、close（办结）"})
