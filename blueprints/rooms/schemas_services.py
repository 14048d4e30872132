"""Schemas of the property company's service tasks and of administrators' 会议室调剂."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.schemas import BusinessDate, Id, LocalDateTime, PageArgs, computed, page_schema
from blueprints.rooms.schemas_booking import RoomBookingDetailSchema
from blueprints.rooms.schemas_search import RoomCardSchema
from models.rooms import BOOKING_STATES, SERVICE_KINDS, SERVICE_STATES

_REASON = validate.And(validate.Length(min=1, max=200), validate.Regexp(r".*\S", error="请填写原因"))


class RoomServiceArgs(PageArgs):
    date_from = BusinessDate(load_default=None, metadata={"description": "应完成日期起（含）"})
    date_to = BusinessDate(load_default=None, metadata={"description": "应完成日期止（含）"})
    status = ma.fields.String(load_default=None, validate=validate.OneOf(list(SERVICE_STATES)))


class RoomServiceTaskSchema(ma.Schema):
    """What the property company needs to set up; never the subject, organiser or attendees."""

    id = ma.fields.Integer(required=True)
    booking_id = ma.fields.Integer(required=True)
    room_name = computed(ma.fields.String, lambda s: s.booking.room.name)
    location = computed(ma.fields.String, lambda s: s.booking.room.place.path)
    meeting_start = computed(LocalDateTime, lambda s: s.booking.start_at,
                             metadata={"description": "会议开始（布置截止）"})
    meeting_end = computed(LocalDateTime, lambda s: s.booking.end_at)
    attendee_count = computed(ma.fields.Integer, lambda s: s.booking.attendee_count)
    booking_status = computed(ma.fields.String, lambda s: s.booking.status,
                              metadata={"description": ", ".join(BOOKING_STATES)})
    kind = ma.fields.String(required=True)
    kind_label = computed(ma.fields.String, lambda s: SERVICE_KINDS.get(s.kind, s.kind))
    note = ma.fields.String(allow_none=True)
    due_at = LocalDateTime(required=True)
    status = ma.fields.String(required=True, metadata={"description": ", ".join(SERVICE_STATES)})
    status_label = computed(ma.fields.String, lambda s: SERVICE_STATES.get(s.status, s.status))
    done_at = LocalDateTime(allow_none=True)


RoomServicePageSchema = page_schema(RoomServiceTaskSchema, "RoomServicePage")


class RoomMoveSchema(ma.Schema):
    room_id = Id(metadata={"description": "新会议室（不填不变）"})
    start_at = LocalDateTime()
    end_at = LocalDateTime()
    reason = ma.fields.String(required=True, validate=_REASON, metadata={"example": "领导会议需用大会议室"})


class RoomAdminCancelSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=_REASON)


class RoomAdminCancelResultSchema(ma.Schema):
    booking = ma.fields.Nested(RoomBookingDetailSchema, required=True)
    alternatives = ma.fields.List(ma.fields.Nested(RoomCardSchema), required=True,
                                  metadata={"description": "同一时段空闲、容量足够的会议室（最多 3 个）"})
