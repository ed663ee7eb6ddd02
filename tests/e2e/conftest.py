import pytest

from bench.stack import start_stack


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def stack(request, tmp_path_factory):
    """One real deployment (redis + API + worker) shared by the end-to-end tests of a session,
    once on the embedded default's SQLite and once on PostgreSQL, the production database."""
    url = request.getfixturevalue("postgres").create_database("shared") if request.param == "postgres" else None
    running = start_stack(tmp_path_factory.mktemp(f"stack-{request.param}"), database_url=url)
    yield running
    running.close()
