"""A migrated SQLite database with the shipped AIM 2019 bundle, shared by the service-level tests."""

from contextlib import contextmanager
from uuid import uuid4

import pytest
from sqlalchemy.orm import sessionmaker

from server.bundle import load_bundle, shipped_bundle_path
from server.db import make_engine
from server.migrate import upgrade_database
from server.services.competitions import create_competition


@contextmanager
def seeded_session(url: str):
    """A session on a freshly migrated database at ``url`` holding the shipped bundle's competition."""
    upgrade_database(url)
    engine = make_engine(url)
    with sessionmaker(engine, expire_on_commit=False)() as session:
        create_competition(session, load_bundle(shipped_bundle_path()))
        session.commit()
        yield session
    engine.dispose()


@pytest.fixture
def session(tmp_path):
    with seeded_session(f"sqlite:///{tmp_path / 'cache.db'}") as session:
        yield session


@pytest.fixture(params=["sqlite", "postgresql"])
def session_on_both(request, tmp_path):
    """The same seeded session on SQLite, then on the session's throwaway PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'seeded.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database(f"seeded_{uuid4().hex[:12]}")
    with seeded_session(url) as session:
        yield session
