"""Foreign-id cases for tests/test_ownership.py: visitors routes (gate)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from models import AuditLog
from models.visitors import Visit
from tests.test_ownership import case
from tests.visitors.conftest import make_visit, resident_id


def _visit(make, status: str = "approved") -> Visit:
    application = make_visit(make, make.user(), visitor=make.user(kind="visitor"), status=status,
                             companions=[("李随行", resident_id(7))])
    return application.visits[0]


def _unchanged(visit_id: int, status: str):
    def check():
        db.session.expire_all()
        visit = db.session.get(Visit, visit_id)
        assert visit.status == status and visit.checked_in_at is None and visit.checked_out_at is None
    return check


def _no_reveal():
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(AuditLog)
                              .where(AuditLog.action == "visitor.id_revealed")).scalar() == 0


@case("GET", "/api/v1/visitors/visits/<int:visit_id>/pass")
def _pass(make):
    visit = _visit(make)
    # another visitor may not have someone else's pass
    return (make.headers(make.user(kind="visitor")), f"/api/v1/visitors/visits/{visit.id}/pass", None,
            _unchanged(visit.id, "approved"))


@case("POST", "/api/v1/visitors/visits/<int:visit_id>/check-in")
def _check_in(make):
    visit = _visit(make)
    # the host is not a guard
    host = db.session.get(Visit, visit.id).host
    return make.headers(host), f"/api/v1/visitors/visits/{visit.id}/check-in", None, _unchanged(visit.id, "approved")


@case("POST", "/api/v1/visitors/visits/<int:visit_id>/check-out")
def _check_out(make):
    visit = _visit(make, status="inside")
    return (make.headers(make.user(kind="visitor")), f"/api/v1/visitors/visits/{visit.id}/check-out", None,
            _unchanged(visit.id, "inside"))


@case("GET", "/api/v1/visitors/applications/<int:application_id>/id-number")
def _application_id_number(make):
    visit = _visit(make)
    guard = make.user("guard", company=make.company("security"))
    return (make.headers(guard), f"/api/v1/visitors/applications/{visit.application_id}/id-number", None,
            _no_reveal)


@case("GET", "/api/v1/visitors/companions/<int:companion_id>/id-number")
def _companion_id_number(make):
    visit = _visit(make)
    companion = db.session.get(Visit, visit.id).application.companions[0]
    return make.headers(make.user("admin")), f"/api/v1/visitors/companions/{companion.id}/id-number", None, _no_reveal
