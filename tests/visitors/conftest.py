"""Visitor test data shared by the visitors tests (additive edits only).

`make_visit(make, host, ...)` inserts an application with one visit (or several windows)
straight into the tables, personal data encrypted through blueprints.visitors.personal as
the services store it, for tests that need visits in place without going through the
visits service. `resident_id(n)` is a valid GB 11643 number (distinct for each n);
`visit_clock(moment)` fixes blueprints.visitors.rules.clock (passes use the real time: give
pass tests windows around `utcnow()`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.extensions import db
from app.lifecycle import SYSTEM
from app.timeutil import utcnow
from blueprints.visitors import personal, rules
from models import User
from models.visitors import Visit, VisitApplication, VisitCompanion, VisitorConsent

NOTICE = "2026-01"


def resident_id(n: int = 1, born: str = "19850312") -> str:
    first17 = f"110105{born}{n % 1000:03d}"
    return first17 + personal.resident_check_char(first17)


def make_visit(make, host: User, *, visitor: User | None = None, status: str = "approved",
               starts_at: datetime | None = None, ends_at: datetime | None = None,
               windows: list[tuple[datetime, datetime]] | None = None, source: str = "application",
               name: str = "王访客", phone: str = "13912345678", id_number: str | None = None,
               id_type: str = "resident_id", companions: list[tuple[str, str]] = (), plate: str | None = None,
               company: str = "某某科技有限公司", purpose: str = "业务洽谈", **values) -> VisitApplication:
    """An application (and its visits, all in `status`) committed; returns the application."""
    if windows is None:
        start = starts_at or utcnow().replace(second=0, microsecond=0) - timedelta(minutes=10)
        windows = [(start, ends_at or start + timedelta(hours=2))]
    consent = VisitorConsent(user_id=visitor.id if visitor else None,
                             recorded_by_id=None if visitor else host.id, notice_version=NOTICE)
    db.session.add(consent)
    db.session.flush()
    application = VisitApplication(
        source=source, host_id=host.id, host_department_id=host.department_id,
        visitor_user_id=visitor.id if visitor else None, created_by_id=(visitor or host).id, name=name,
        company=company, purpose=purpose, plate=plate, consent_id=consent.id, companion_count=len(companions),
        **personal.phone_values(phone), **personal.id_values(id_type, id_number or resident_id()), **values)
    for companion_name, companion_id in companions:
        application.companions.append(VisitCompanion(name=companion_name,
                                                     **personal.id_values("resident_id", companion_id)))
    db.session.add(application)
    db.session.flush()
    for start, end in windows:
        visit = Visit(application_id=application.id, user_id=visitor.id if visitor else None, host_id=host.id,
                      host_department_id=host.department_id, status=status, starts_at=start, ends_at=end)
        db.session.add(visit)
        db.session.flush()
        rules.VISIT.record_creation(visit, SYSTEM)
    db.session.commit()
    return application


@pytest.fixture
def visit_clock(monkeypatch):
    """Fix the time the visitors domain reads (rules.clock): visit_clock(aware datetime)."""
    def set_clock(moment: datetime) -> None:
        monkeypatch.setattr(rules, "clock", lambda: moment)
    return set_clock
