"""Demo data for the canteen (waste): placeholder."""


def seed() -> None:
    pass
