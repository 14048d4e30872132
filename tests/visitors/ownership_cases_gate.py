"""Foreign-id cases for tests/test_ownership.py: visitors routes (gate)."""

from __future__ import annotations
