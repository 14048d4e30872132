"""Shared marshmallow pieces: times with offsets, business dates, pagination."""

from __future__ import annotations

from datetime import date

import marshmallow as ma
from sqlalchemy import func, select

from app.extensions import MAX_ID, db
from app.timeutil import local


class LocalDateTime(ma.fields.AwareDateTime):
    """ISO 8601 with offset; rendered in Asia/Shanghai, input must carry an offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else local(value).isoformat()


class BusinessDate(ma.fields.Date):
    """YYYY-MM-DD within 2000-01-01..2100-12-31: rules add and subtract days and weeks, so a
    date at the edge of Python's range (0001-01-01) must be refused (422), never overflow (500)."""

    FIRST, LAST = date(2000, 1, 1), date(2100, 12, 31)

    def __init__(self, *args, **kwargs):
        validators = list(kwargs.pop("validate", None) or [])
        validators = validators if isinstance(validators, list) else [validators]
        super().__init__(*args, validate=[ma.validate.Range(
            min=self.FIRST, max=self.LAST, error="日期应在 2000-01-01 至 2100-12-31 之间"), *validators], **kwargs)


class Trimmed(ma.fields.String):
    """A string with surrounding white space removed (before the validators run)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class Id(ma.fields.Integer):
    """A row id: 1..2^31-1, so an id PostgreSQL cannot hold is a 422, not a database error."""

    def __init__(self, *args, **kwargs):
        validators = list(kwargs.pop("validate", None) or [])
        validators = validators if isinstance(validators, list) else [validators]
        super().__init__(*args, validate=[ma.validate.Range(min=1, max=MAX_ID), *validators], **kwargs)


def computed(field_class: type[ma.fields.Field], fn, **kwargs) -> ma.fields.Field:
    """A dump-only field of `field_class` (so the API document names its type) whose value is
    fn(obj)."""

    class Computed(field_class):
        def get_value(self, obj, attr, accessor=None, default=ma.missing):
            return fn(obj)

    Computed.__name__ = field_class.__name__
    return Computed(dump_only=True, **kwargs)


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100000))
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


class PageMeta(ma.Schema):
    page = ma.fields.Integer(required=True)
    per_page = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A schema {items: [...], page, per_page, total} for a list endpoint."""
    return type(name, (PageMeta,), {"items": ma.fields.List(ma.fields.Nested(item_schema), required=True)})


def paginate(stmt, page: int, per_page: int) -> dict:
    """Run `stmt` (a select) for one page; `total` counts the whole selection."""
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    items = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return {"items": items, "page": page, "per_page": per_page, "total": total}
