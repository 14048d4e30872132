"""Migrations apply from empty, match the models (no drift), create every named
constraint, and go down and up again."""

import pytest
from sqlalchemy import create_engine, inspect, text

from app import devservers, migrate
from tests.conftest import RUN


@pytest.fixture
def empty_db(server_urls):
    name = f"jiguan_mig_{RUN}"
    url = devservers.ensure_database(server_urls["db_server"], name, recreate=True)
    yield url
    devservers.drop_database(server_urls["db_server"], name)


def _tables(url):
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_check_and_constraints(empty_db):
    assert _tables(empty_db) == set()
    migrate.upgrade(empty_db)
    assert {"app_user", "role_grant", "api_token", "audit_log"} <= _tables(empty_db)
    migrate.check(empty_db)  # raises on drift between models and migrations
    assert migrate.missing_constraints(empty_db) == []


def test_constraint_check_notices_a_missing_constraint(empty_db):
    migrate.upgrade(empty_db)
    engine = create_engine(empty_db)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE company DROP CONSTRAINT ck_company_kind"))
    engine.dispose()
    assert migrate.missing_constraints(empty_db) == ["company.ck_company_kind"]


def test_downgrade_to_base_and_up_again(empty_db):
    migrate.upgrade(empty_db)
    migrate.downgrade(empty_db, "base")
    assert _tables(empty_db) <= {"alembic_version"}
    migrate.upgrade(empty_db)
    migrate.check(empty_db)
