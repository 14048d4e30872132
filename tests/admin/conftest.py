"""Helpers for the admin panel tests: panel users with passwords, signing in, CSRF tokens."""

from __future__ import annotations

import re

import pytest

from app.extensions import db

PASSWORD = "Panel#Pass2026"
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(html: str) -> str:
    """The last CSRF token of a page: the page's own form comes after the sign-out form of
    the navigation bar (a Flask-WTF token; ModelView forms carry a SecureForm token)."""
    matches = list(TOKEN_RE.finditer(html))
    assert matches, "no csrf_token in the page"
    return matches[-1].group(1) or matches[-1].group(2)


def login(client, user_or_no, password: str = PASSWORD, **extra):
    employee_no = getattr(user_or_no, "employee_no", user_or_no)
    return client.post("/admin/login", data={"employee_no": employee_no, "password": password, **extra})


def fresh(obj):
    """Reload an object the requests changed (each request runs in its own session)."""
    db.session.refresh(obj)
    return obj


@pytest.fixture
def admin_user(make):
    return make.user("admin", name="管理员甲", password=PASSWORD)


@pytest.fixture
def auditor(make):
    return make.user("auditor", name="审计员乙", password=PASSWORD)


@pytest.fixture
def canteen(make):
    return make.company("canteen_operator", name="金穗餐饮")


@pytest.fixture
def property_company(make):
    return make.company("property", name="安居物业")


@pytest.fixture
def canteen_manager(make, canteen):
    return make.user("canteen_manager", company=canteen, name="周经理", password=PASSWORD)


@pytest.fixture
def signed_in(client):
    """Sign a user in on the shared `client`: signed_in(user) -> client."""

    def sign(user, password: str = PASSWORD):
        response = login(client, user, password)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return sign
