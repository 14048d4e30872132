"""Demo data for the canteen (booking): placeholder."""


def seed() -> None:
    pass
