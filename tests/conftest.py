import pytest

from bench.pg import PostgresServer


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server, started only when a test asks for it; ``create_database`` per use."""
    server = PostgresServer().start()
    yield server
    server.stop()
