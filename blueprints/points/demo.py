"""Demo data for points (placeholder)."""


def seed_points() -> None:
    pass
