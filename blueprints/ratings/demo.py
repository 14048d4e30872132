"""Demo data for ratings (placeholder)."""


def seed_ratings() -> None:
    pass
