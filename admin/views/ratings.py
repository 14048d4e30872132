"""Admin views for ratings (placeholder)."""


def add_views(admin) -> None:
    pass
