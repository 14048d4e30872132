"""Schemas of the gate: the guards' lists, check-in and check-out answers, a whole ID number.

Every list shows phones and ID numbers masked only (`phone_masked`, `id_masked`); the whole
number is the id_verifier's separate, audited read (`VisitIdNumberSchema`)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.schemas import BusinessDate, LocalDateTime, PageArgs, computed, page_schema
from blueprints.visitors import gate, rules
from blueprints.visitors.rules import VISIT
from models.visitors import ID_TYPES, VISIT_SOURCES


class GateExpectedArgs(PageArgs):
    date = BusinessDate(load_default=None, metadata={"description": "日期（默认今天，北京时间）",
                                                     "example": "2030-06-03"})
    status = ma.fields.String(load_default=None, validate=validate.OneOf(list(gate.EXPECTED_STATES)),
                              metadata={"description": "只看该状态：" + ", ".join(gate.EXPECTED_STATES)})


class GatePersonSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class GateCompanionSchema(ma.Schema):
    id = ma.fields.Integer(required=True, metadata={"description": "随行人员编号（核验员查看完整证件号用）"})
    name = ma.fields.String(required=True)
    id_type = ma.fields.String(required=True)
    id_type_label = computed(ma.fields.String, lambda c: ID_TYPES.get(c.id_type, c.id_type))
    id_masked = ma.fields.String(required=True, metadata={"example": "110***********1234"})


def _application(attr: str):
    return lambda v: getattr(v.application, attr)


class GateVisitSchema(ma.Schema):
    """One visit as the gate sees it: who, for whom, when, and where it stands."""

    id = ma.fields.Integer(required=True)
    application_id = ma.fields.Integer(required=True)
    source = computed(ma.fields.String, _application("source"), metadata={"description": ", ".join(VISIT_SOURCES)})
    source_label = computed(ma.fields.String, lambda v: VISIT_SOURCES.get(v.application.source))
    status = ma.fields.String(required=True)
    status_label = computed(ma.fields.String, lambda v: VISIT.label(v.status))
    starts_at = LocalDateTime(required=True)
    ends_at = LocalDateTime(required=True)
    pass_valid_from = computed(LocalDateTime, rules.pass_valid_from,
                               metadata={"description": "可入场时间（开始前 VISIT_EARLY_MINUTES 分钟）"})
    visitor_name = computed(ma.fields.String, _application("name"), metadata={"example": "王访客"})
    company = computed(ma.fields.String, _application("company"), allow_none=True)
    purpose = computed(ma.fields.String, _application("purpose"))
    phone_masked = computed(ma.fields.String, _application("phone_masked"), allow_none=True,
                            metadata={"example": "139****5678"})
    id_type = computed(ma.fields.String, _application("id_type"), allow_none=True)
    id_type_label = computed(ma.fields.String, lambda v: ID_TYPES.get(v.application.id_type), allow_none=True)
    id_masked = computed(ma.fields.String, _application("id_masked"), allow_none=True,
                         metadata={"example": "110***********1234"})
    companions = computed(ma.fields.Integer, _application("companion_count"), metadata={"description": "随行人数"})
    companion_people = computed(ma.fields.List, _application("companions"),
                                cls_or_instance=ma.fields.Nested(GateCompanionSchema))
    plate = computed(ma.fields.String, _application("plate"), allow_none=True)
    host = ma.fields.Nested(GatePersonSchema, required=True)
    host_department = computed(ma.fields.String, lambda v: v.application.host_department.name
                               if v.application.host_department else None, allow_none=True)
    has_pass = computed(ma.fields.Boolean, lambda v: v.user_id is not None,
                        metadata={"description": "访客使用小程序出示通行码；否则由门岗直接登记入场"})
    checked_in_at = LocalDateTime(allow_none=True)
    checked_out_at = LocalDateTime(allow_none=True)
    overstay = computed(ma.fields.Boolean, gate.is_overstay, metadata={"description": "来访时段已结束仍在访"})
    overstay_flagged_at = LocalDateTime(allow_none=True)


GateVisitPageSchema = page_schema(GateVisitSchema, "GateVisitPage")


class VisitIdNumberSchema(ma.Schema):
    name = ma.fields.String(allow_none=True)
    id_type = ma.fields.String(required=True)
    id_type_label = computed(ma.fields.String, lambda d: ID_TYPES.get(d["id_type"], d["id_type"]))
    id_number = ma.fields.String(required=True, metadata={"description": "完整证件号码（仅核验员可见，已记入审计）"})
    id_masked = ma.fields.String(required=True)
