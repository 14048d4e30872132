"""Admin views for the canteen (menus): placeholder."""


def add_views(admin) -> None:
    pass
