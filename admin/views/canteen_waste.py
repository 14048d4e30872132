"""Admin views for the canteen (waste): placeholder."""


def add_views(admin) -> None:
    pass
