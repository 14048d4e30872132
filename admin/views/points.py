"""Admin views for points (placeholder)."""


def add_views(admin) -> None:
    pass
