import pytest

from tests.e2e.stack import start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """One real deployment (redis + API + worker) shared by the end-to-end tests of a session."""
    running = start_stack(tmp_path_factory.mktemp("stack"))
    yield running
    running.close()
