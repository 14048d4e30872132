"""Foreign-id cases for the places routes (tests/test_ownership.py runs them): a retired place
does not exist for staff, and only administrators change places or fetch their codes."""

from __future__ import annotations

from app.extensions import db
from models import Place
from tests.places.helpers import make_place
from tests.test_ownership import case


@case("GET", "/api/v1/places/<int:place_id>")
def _place_get(make):
    building = make_place("building", "旧楼", active=False)
    return make.headers(make.user()), f"/api/v1/places/{building.id}", None, lambda: None


@case("PUT", "/api/v1/places/<int:place_id>")
def _place_put(make):
    building = make_place("building", "主楼")

    def check():
        assert db.session.get(Place, building.id).name == "主楼"
    body = {"kind": "building", "name": "改名"}
    return make.headers(make.user()), f"/api/v1/places/{building.id}", body, check


@case("GET", "/api/v1/places/<int:place_id>/wxa-code")
def _place_wxa_code(make):
    building = make_place("building", "主楼")
    # An auditor reads everything but may not have codes made (a WeChat call).
    return make.headers(make.user("auditor")), f"/api/v1/places/{building.id}/wxa-code", None, lambda: None
