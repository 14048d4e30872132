"""Helpers shared by the identity tests."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from models import AuditLog

API = "/api/v1"
PHONE_LIKE = re.compile(r"1[3-9]\d{9}")


def assert_error(resp, status: int, code: str) -> dict:
    """A 4xx in the one error shape, with the expected stable code."""
    body = resp.get_json()
    assert resp.status_code == status, body
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code, body
    assert body["message"]
    return body


def audit_rows(action: str | None = None) -> list[AuditLog]:
    db.session.expire_all()
    stmt = select(AuditLog).order_by(AuditLog.id)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return list(db.session.execute(stmt).scalars())


def assert_no_phone_in_audit() -> None:
    for row in audit_rows():
        assert not PHONE_LIKE.search(str(row.details)), (row.action, row.details)


def me(client, headers):
    return client.get(f"{API}/auth/me", headers=headers)
