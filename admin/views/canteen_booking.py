"""Admin views for the canteen (booking): placeholder."""


def add_views(admin) -> None:
    pass
