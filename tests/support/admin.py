"""Signing in to the admin panel: panel users with a known password and a `signed_in`
fixture, shared by the admin, places and notification tests."""

from __future__ import annotations

import pytest

PASSWORD = "Panel#Pass2026"


def login(client, user_or_no, password: str = PASSWORD, **extra):
    employee_no = getattr(user_or_no, "employee_no", user_or_no)
    return client.post("/admin/login", data={"employee_no": employee_no, "password": password, **extra})


@pytest.fixture
def admin_user(make):
    return make.user("admin", name="管理员甲", password=PASSWORD)


@pytest.fixture
def auditor(make):
    return make.user("auditor", name="审计员乙", password=PASSWORD)


@pytest.fixture
def signed_in(client):
    """Sign a user in on the shared `client`: signed_in(user) -> client."""

    def sign(user, password: str = PASSWORD):
        response = login(client, user, password)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return sign
