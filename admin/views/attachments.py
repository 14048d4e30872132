"""Admin views for attachments (placeholder)."""


def add_views(admin) -> None:
    pass
