"""Foreign-id cases for tests/test_ownership.py: the points routes with an object id.

GET /points/users/<user_id> is for administrators and auditors only: staff — even asking
about themselves or a colleague — are refused (their own points are at /points/me)."""

from __future__ import annotations

from app.extensions import db
from blueprints.points import service
from tests.points.conftest import ensure_rules
from tests.test_ownership import case


@case("GET", "/api/v1/points/users/<int:user_id>")
def _user_points(make):
    ensure_rules()
    owner, colleague = make.user(), make.user()
    service.award(owner.id, "rating", "rating:ownership")
    db.session.commit()

    def check():
        assert service.balance(owner.id) == 1
    return make.headers(colleague), f"/api/v1/points/users/{owner.id}", None, check
