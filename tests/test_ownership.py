"""Every API route that takes an object id has a foreign-id case here: someone who must
not reach that object tries, gets 403/404 in the error shape, and the object is unchanged.

`test_every_id_route_has_a_foreign_id_case` walks the URL map, so a new route with an id
and no case below fails the suite. Add the case in the domain's `ownership_cases.py`
(tests/<domain>/ownership_cases.py) and list that module in CASE_MODULES.
"""

from __future__ import annotations

import importlib

import pytest

from app.extensions import db
from models import ApiToken, User

CASE_MODULES = ["tests.test_ownership", "tests.places.ownership_cases", "tests.notifications.ownership_cases",
                "tests.attachments.ownership_cases", "tests.ratings.ownership_cases", "tests.points.ownership_cases",
                "tests.canteen.ownership_cases_booking", "tests.canteen.ownership_cases_menus",
                "tests.canteen.ownership_cases_waste", "tests.canteen.ownership_cases_dish_ratings",
                "tests.rooms.ownership_cases_search", "tests.rooms.ownership_cases_booking",
                "tests.rooms.ownership_cases_loop", "tests.rooms.ownership_cases_services",
                "tests.visitors.ownership_cases_visits", "tests.visitors.ownership_cases_gate",
                "tests.visitors.ownership_cases_privacy", "tests.parking.ownership_cases"]
CASES: dict[tuple[str, str], callable] = {}


def case(method: str, rule: str):
    def register(fn):
        CASES[(method, rule)] = fn
        return fn
    return register


def all_cases() -> dict:
    for name in CASE_MODULES:
        importlib.import_module(name)
    return CASES


# Each case returns (headers, url, json body or None, check) where check() asserts the
# target is unchanged after the refused request.

@case("GET", "/api/v1/users/<int:user_id>")
def _user_get(make):
    target = make.user()
    return make.headers(make.user()), f"/api/v1/users/{target.id}", None, lambda: None


@case("PUT", "/api/v1/users/<int:user_id>/roles")
def _user_roles(make):
    company = make.company("canteen_operator")
    target = make.user("canteen_staff", company=company)
    manager = make.user("canteen_manager", company=company)

    def check():
        assert [g.role for g in db.session.get(User, target.id).roles] == ["canteen_staff"]
    return make.headers(manager), f"/api/v1/users/{target.id}/roles", {"roles": [{"role": "admin"}]}, check


@case("POST", "/api/v1/users/<int:user_id>/disable")
def _user_disable(make):
    canteen, property_ = make.company("canteen_operator"), make.company("property")
    target = make.user("canteen_staff", company=canteen)
    dispatcher = make.user("property_dispatcher", company=property_)

    def check():
        assert db.session.get(User, target.id).is_active
    return make.headers(dispatcher), f"/api/v1/users/{target.id}/disable", {"reason": "x"}, check


@case("GET", "/api/v1/departments/<int:department_id>")
def _department_get(make):
    dept = make.department()
    return make.headers(make.user(kind="visitor")), f"/api/v1/departments/{dept.id}", None, lambda: None


@case("PUT", "/api/v1/departments/<int:department_id>")
def _department_put(make):
    dept = make.department(name="原名")

    def check():
        from models import Department
        assert db.session.get(Department, dept.id).name == "原名"
    body = {"code": dept.code, "name": "改名", "parent_id": None}
    return make.headers(make.user()), f"/api/v1/departments/{dept.id}", body, check


@case("GET", "/api/v1/companies/<int:company_id>")
def _company_get(make):
    mine, other = make.company("property"), make.company("canteen_operator")
    tech = make.user("technician", company=mine)
    return make.headers(tech), f"/api/v1/companies/{other.id}", None, lambda: None


@case("GET", "/api/v1/companies/<int:company_id>/invites")
def _invites_get(make):
    mine, other = make.company("canteen_operator"), make.company("property")
    manager = make.user("canteen_manager", company=mine)
    return make.headers(manager), f"/api/v1/companies/{other.id}/invites", None, lambda: None


@case("POST", "/api/v1/companies/<int:company_id>/invites")
def _invites_post(make):
    mine, other = make.company("canteen_operator"), make.company("property")
    manager = make.user("canteen_manager", company=mine)

    def check():
        from models import InviteCode
        assert db.session.query(InviteCode).count() == 0
    return make.headers(manager), f"/api/v1/companies/{other.id}/invites", {"role": "technician"}, check


@case("DELETE", "/api/v1/auth/sessions/<int:token_id>")
def _session_delete(make):
    owner = make.user()
    make.token(owner)
    token_id = db.session.query(ApiToken.id).filter_by(user_id=owner.id).scalar()

    def check():
        assert db.session.get(ApiToken, token_id).revoked_at is None
    return make.headers(make.user()), f"/api/v1/auth/sessions/{token_id}", None, check


def _id_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and any(arg.endswith("id") for arg in rule.arguments):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, rule.rule


def test_every_id_route_has_a_foreign_id_case(app):
    missing = sorted(set(_id_routes(app)) - set(all_cases()))
    assert not missing, f"routes with an object id but no foreign-id case: {missing}"


@pytest.mark.parametrize("key", sorted(all_cases()), ids=lambda k: f"{k[0]} {k[1]}")
def test_foreign_id_is_refused(key, client, make):
    headers, url, body, check = all_cases()[key](make)
    resp = client.open(url, method=key[0], headers=headers, json=body)
    assert resp.status_code in (403, 404), resp.get_data(as_text=True)
    assert resp.get_json()["code"] in ("FORBIDDEN", "NOT_FOUND")
    db.session.expire_all()
    check()
