"""Alembic migrations on both databases we ship: SQLite (embedded) and PostgreSQL (compose).

Upgrade, downgrade to nothing, upgrade again (so every downgrade really undoes its upgrade), then
the migrated schema must equal the models: a model change without a migration fails here.
"""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from server.db import make_engine
from server.migrate import alembic_config
from server.models import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    return request.getfixturevalue("postgres").create_database("migrations")


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def schema_differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_matches_the_models(database_url):
    config = alembic_config(database_url)
    command.upgrade(config, "head")
    assert table_names(database_url) >= set(Base.metadata.tables)
    command.downgrade(config, "base")
    assert table_names(database_url) == {"alembic_version"}
    command.upgrade(config, "head")
    assert schema_differences(database_url) == []
