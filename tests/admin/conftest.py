"""Helpers for the admin panel tests: panel users with passwords, signing in
(tests/support/admin.py), CSRF tokens."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from tests.support.admin import PASSWORD, admin_user, auditor, signed_in  # noqa: F401  (fixtures)

TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(html: str) -> str:
    """The last CSRF token of a page: the page's own form comes after the sign-out form of
    the navigation bar (a Flask-WTF token; ModelView forms carry a SecureForm token)."""
    matches = list(TOKEN_RE.finditer(html))
    assert matches, "no csrf_token in the page"
    return matches[-1].group(1) or matches[-1].group(2)


def fresh(obj):
    """Reload an object the requests changed (each request runs in its own session)."""
    db.session.refresh(obj)
    return obj


@pytest.fixture
def canteen(make):
    return make.company("canteen_operator", name="金穗餐饮")


@pytest.fixture
def property_company(make):
    return make.company("property", name="安居物业")


@pytest.fixture
def canteen_manager(make, canteen):
    return make.user("canteen_manager", company=canteen, name="周经理", password=PASSWORD)
