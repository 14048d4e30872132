"""Demo data for attachments (placeholder)."""


def seed_attachments() -> None:
    pass
