"""Foreign-id cases for tests/test_ownership.py: the ratings routes with an object id."""
