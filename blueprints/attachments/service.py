"""Attachments service (placeholder)."""


def purge_unbound() -> int:
    return 0
