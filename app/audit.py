"""Audit log of administrator and contractor actions. Never put personal data in details."""

from __future__ import annotations

from app.extensions import db
from app.netutil import client_address
from models import AuditLog


def record(action: str, target_type: str | None = None, target_id=None,
           details: dict | None = None, actor=None) -> AuditLog:
    """Add an audit row to the current transaction. `actor` is a User or Principal."""
    from app.auth import current_principal_or_none

    actor = actor if actor is not None else current_principal_or_none()
    entry = AuditLog(
        actor_id=getattr(actor, "user_id", None) or getattr(actor, "id", None),
        actor_name=getattr(actor, "name", None),
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details or {},
        address=client_address(),
    )
    db.session.add(entry)
    return entry
