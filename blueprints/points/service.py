"""Points service (placeholder)."""


def expire_due() -> int:
    return 0
