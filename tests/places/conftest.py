"""Fixtures for the places tests: signing in to the admin panel (tests/support/admin.py)."""

from tests.support.admin import admin_user, auditor, signed_in  # noqa: F401  (fixtures)
