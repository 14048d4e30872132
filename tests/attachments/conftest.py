"""Fixtures of the attachment tests: the test-only SAMPLE order type (tests/platform/orders.py)
to bind photos to, and an empty attachment directory after each test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from app.extensions import db
from tests.platform.conftest import new_order, sample_table  # noqa: F401  (fixture)
from tests.platform.orders import SampleOrder
from tests.support.admin import PASSWORD, admin_user, auditor, signed_in  # noqa: F401  (fixtures)

__all__ = ["PASSWORD", "new_order"]


@pytest.fixture(autouse=True)
def _empty_store_and_orders(sample_table, app):  # noqa: F811
    yield
    db.session.remove()
    with sample_table.begin() as conn:
        conn.execute(text(f"TRUNCATE {SampleOrder.__tablename__} RESTART IDENTITY"))
    root = Path(os.environ["ATTACHMENT_DIR"])
    for child in root.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()


@pytest.fixture
def staff(make):
    return make.user(name="上传人")


@pytest.fixture
def staff_h(make, staff):
    return make.headers(staff)
