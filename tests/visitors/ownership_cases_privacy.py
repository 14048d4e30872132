"""Foreign-id cases for tests/test_ownership.py: visitors routes (privacy)."""

from __future__ import annotations
