"""Schemas of check-in, the waitlist, no-show penalties and calendar feeds."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.schemas import Id, LocalDateTime, computed, page_schema
from blueprints.rooms.schemas_booking import RoomBookingSchema
from models.rooms import WAITLIST_STATES

_SUBJECT = validate.And(validate.Length(min=1, max=100), validate.Regexp(r".*\S", error="会议主题不能为空"))


class RoomCheckinSchema(ma.Schema):
    scene = ma.fields.String(required=True, validate=validate.Length(min=1, max=32), metadata={
        "description": "扫描会议室门口小程序码得到的 scene", "example": "p=12"})


class RoomWaitlistCreateSchema(ma.Schema):
    room_id = Id(required=True)
    start_at = LocalDateTime(required=True)
    end_at = LocalDateTime(required=True)
    subject = ma.fields.String(required=True, validate=_SUBJECT)
    attendee_count = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=10000))


class RoomWaitlistSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    room_id = ma.fields.Integer(required=True)
    room_name = computed(ma.fields.String, lambda w: w.room.name)
    start_at = LocalDateTime(required=True)
    end_at = LocalDateTime(required=True)
    subject = ma.fields.String(required=True)
    attendee_count = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, metadata={"description": ", ".join(WAITLIST_STATES)})
    status_label = computed(ma.fields.String, lambda w: WAITLIST_STATES.get(w.status, w.status))
    offer_expires_at = LocalDateTime(allow_none=True, metadata={"description": "已通知时：在此之前确认预订"})
    booking_id = ma.fields.Integer(allow_none=True)
    created_at = LocalDateTime(required=True)


RoomWaitlistPageSchema = page_schema(RoomWaitlistSchema, "RoomWaitlistPage")


class RoomSuspensionSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    starts_at = LocalDateTime(required=True)
    ends_at = LocalDateTime(required=True, metadata={"description": "暂停至"})
    reason = ma.fields.String(required=True)
    no_shows = ma.fields.Integer(required=True)
    lifted_at = LocalDateTime(allow_none=True)
    lift_reason = ma.fields.String(allow_none=True)


class RoomPenaltiesSchema(ma.Schema):
    no_shows = ma.fields.List(ma.fields.Nested(RoomBookingSchema), required=True,
                              metadata={"description": "统计期内未签到被释放的预订"})
    limit = ma.fields.Integer(required=True, metadata={"description": "统计期内达到此次数即暂停预订"})
    window_days = ma.fields.Integer(required=True)
    suspension = ma.fields.Nested(RoomSuspensionSchema, allow_none=True, metadata={"description": "当前的暂停"})


class RoomLiftSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.And(
        validate.Length(min=1, max=200), validate.Regexp(r".*\S", error="请填写原因")))


class RoomFeedCreateSchema(ma.Schema):
    include_subjects = ma.fields.Boolean(load_default=False, metadata={
        "description": "订阅中显示会议主题（日历应用可能把主题同步到手机或云端，默认不显示）"})


class RoomFeedSchema(ma.Schema):
    live = ma.fields.Boolean(required=True)
    created_at = LocalDateTime(allow_none=True)
    include_subjects = ma.fields.Boolean(allow_none=True)
    url = ma.fields.String(allow_none=True, metadata={
        "description": "订阅地址（仅创建时返回一次；含密钥，请勿转发）"})
