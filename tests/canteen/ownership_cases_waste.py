"""Foreign-id cases for tests/test_ownership.py: canteen routes (waste)."""
