"""Foreign-id cases for tests/test_ownership.py: the attachments routes with an object id."""
