"""Foreign-id cases for tests/test_ownership.py: the points routes with an object id."""
