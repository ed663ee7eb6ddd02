"""A migrated SQLite database with the shipped AIM 2019 bundle, shared by the service-level tests;
``cli``: the command in-process on a fresh embedded deployment; ``api``: the API over it."""

import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from uuid import uuid4

import pytest
import uvicorn
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from bench.stack import BUNDLE, free_port
from server.bundle import load_bundle, shipped_bundle_path
from server.cli import app
from server.config import get_settings
from server.db import get_engine, get_sessionmaker, make_engine
from server.main import create_app
from server.migrate import upgrade_database
from server.queue import get_celery
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


CACHES = (get_settings, get_engine, get_sessionmaker, get_celery)


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run ``srchallenge ARGS`` in-process against a private data dir; returns the result."""
    monkeypatch.setenv("SRCHALLENGE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("SRCHALLENGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("SRCHALLENGE_BROKER_URL", raising=False)
    for cached in CACHES:
        cached.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, f"srchallenge {' '.join(args)}: {result.output}{result.exception!r}"
        return result

    invoke.said = lambda *args: " ".join(invoke(*args, code=1).output.split())  # rich wraps long lines

    invoke("db", "upgrade")
    invoke("competition", "create", str(BUNDLE))
    yield invoke
    get_engine().dispose()
    for cached in CACHES:
        cached.cache_clear()


@pytest.fixture
def api(cli):
    """The API on loopback over the cli fixture's database (settings come from the same variables)."""
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def redis_url(tmp_path):
    """A real redis-server on loopback, for stores shared by API processes."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() != b"PONG":
        assert time.monotonic() < deadline and server.poll() is None, "redis-server did not start"
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(10)
