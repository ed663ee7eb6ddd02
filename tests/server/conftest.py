"""A migrated SQLite database with the shipped AIM 2019 bundle, shared by the service-level tests."""

import pytest
from sqlalchemy.orm import sessionmaker

from server.bundle import load_bundle, shipped_bundle_path
from server.db import make_engine
from server.migrate import upgrade_database
from server.services.competitions import create_competition


@pytest.fixture
def session(tmp_path):
    url = f"sqlite:///{tmp_path / 'cache.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    with sessionmaker(engine, expire_on_commit=False)() as session:
        create_competition(session, load_bundle(shipped_bundle_path()))
        session.commit()
        yield session
    engine.dispose()
