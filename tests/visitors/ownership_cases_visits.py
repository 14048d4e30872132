"""Foreign-id cases for tests/test_ownership.py: visitors routes (visits)."""

from __future__ import annotations
