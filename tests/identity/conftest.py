"""Fixtures shared by the identity tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def admin(make):
    return make.user("admin", name="管理员")


@pytest.fixture
def admin_h(make, admin):
    return make.headers(admin)
