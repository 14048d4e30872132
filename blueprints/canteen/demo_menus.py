"""Demo data for the canteen (menus): placeholder."""


def seed() -> None:
    pass
