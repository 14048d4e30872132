"""Foreign-id cases for tests/test_ownership.py: visitors routes (visits).

The intruders that matter: another member of staff (not the host: a colleague cannot decide
or cancel someone else's visitor), and another visitor (cannot see or cancel someone else's
visit); release is for administrators only, so the host is refused too."""

from __future__ import annotations

from app.extensions import db
from models.visitors import Visit, VisitApplication
from tests.test_ownership import case
from tests.visitors.conftest import make_visit


def foreign_application(make, status: str = "pending") -> VisitApplication:
    host, visitor = make.user(), make.user(kind="visitor")
    return make_visit(make, host, visitor=visitor, status=status)


def unchanged(application_id: int, status: str = "pending"):
    def check():
        db.session.expire_all()
        application = db.session.get(VisitApplication, application_id)
        assert [v.status for v in application.visits] == [status]
        assert application.decision_reason is None
    return check


@case("GET", "/api/v1/visitors/applications/<int:application_id>")
def _get(make):
    application = foreign_application(make)
    return (make.headers(make.user(kind="visitor")), f"/api/v1/visitors/applications/{application.id}", None,
            unchanged(application.id))


@case("POST", "/api/v1/visitors/applications/<int:application_id>/approve")
def _approve(make):
    application = foreign_application(make)
    return (make.headers(make.user()), f"/api/v1/visitors/applications/{application.id}/approve", None,
            unchanged(application.id))


@case("POST", "/api/v1/visitors/applications/<int:application_id>/reject")
def _reject(make):
    application = foreign_application(make)
    return (make.headers(make.user()), f"/api/v1/visitors/applications/{application.id}/reject",
            {"reason": "不接待"}, unchanged(application.id))


@case("POST", "/api/v1/visitors/applications/<int:application_id>/release")
def _release(make):
    application = foreign_application(make, status="held")
    host = db.session.get(VisitApplication, application.id).host
    return (make.headers(host), f"/api/v1/visitors/applications/{application.id}/release", {},
            unchanged(application.id, "held"))


@case("POST", "/api/v1/visitors/applications/<int:application_id>/cancel")
def _cancel(make):
    application = foreign_application(make, status="approved")
    return (make.headers(make.user(kind="visitor")), f"/api/v1/visitors/applications/{application.id}/cancel", {},
            unchanged(application.id, "approved"))


@case("POST", "/api/v1/visitors/visits/<int:visit_id>/cancel")
def _cancel_visit(make):
    application = foreign_application(make, status="approved")
    visit_id = db.session.get(VisitApplication, application.id).visits[0].id

    def check():
        db.session.expire_all()
        assert db.session.get(Visit, visit_id).status == "approved"
    return make.headers(make.user()), f"/api/v1/visitors/visits/{visit_id}/cancel", {}, check
