"""Migration helpers used by dev.py, the CLI and the tests (one way to migrate)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Raise if the models and the migrations differ (`alembic check`)."""
    command.check(alembic_config(url))


def missing_constraints(url: str) -> list[str]:
    """Named unique, check and exclusion constraints of the models that the database lacks.
    Names are taken from the DDL the models compile to, so the naming convention applies."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.schema import CreateTable

    import models  # noqa: F401
    from app.config import normalise_db_url
    from app.extensions import Base

    engine = create_engine(normalise_db_url(url))
    expected = set()
    for table in Base.metadata.tables.values():
        for line in str(CreateTable(table).compile(dialect=engine.dialect)).splitlines():
            words = line.split()
            if len(words) >= 3 and words[0] == "CONSTRAINT" and words[2] in ("UNIQUE", "CHECK", "EXCLUDE"):
                expected.add((table.name, words[1]))
    with engine.connect() as conn:
        present = {tuple(row) for row in conn.execute(text(
            "SELECT rel.relname, con.conname FROM pg_constraint con "
            "JOIN pg_class rel ON rel.oid = con.conrelid "
            "JOIN pg_namespace ns ON ns.oid = rel.relnamespace "
            "WHERE ns.nspname = current_schema() AND con.contype IN ('u', 'c', 'x')"))}
    engine.dispose()
    if not expected:
        raise RuntimeError("no named constraints found in the models: the check would be empty")
    return sorted(f"{t}.{c}" for t, c in expected - present)
