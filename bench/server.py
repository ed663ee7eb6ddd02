"""A seeded API server for the HTTP benches: migrated database, the shipped AIM 2019 bundle, one
team, served by ``python -m server.cli serve --no-migrate`` in a subprocess, as in production."""

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from bench.pg import PostgresServer
from bench.stack import BUNDLE, REPO, free_port, wait_for_http
from server.bundle import load_bundle
from server.db import make_engine
from server.migrate import upgrade_database
from server.services.competitions import create_competition, get_phase_by_path
from server.services.datasets import import_hr_images
from server.services.storage import Storage
from server.services.teams import create_team

RATE_LIMIT_PER_MINUTE = 10_000_000
"""The per-client rate limit stays on (its cost is part of each request) but never bites."""


@contextmanager
def database(backend: str, data_dir: Path):
    """A fresh, migrated database URL: SQLite under ``data_dir`` or a throwaway PostgreSQL server."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        url = f"sqlite:///{data_dir / 'srchallenge.db'}"
        if Path(data_dir / "srchallenge.db").exists():
            Path(data_dir / "srchallenge.db").unlink()
        upgrade_database(url)
        yield url
        return
    pg = PostgresServer().start()
    try:
        url = pg.create_database("bench")
        upgrade_database(url)
        yield url
    finally:
        pg.stop()


def seed_competition(url: str, team: str = "bench") -> str:
    """Create the AIM 2019 competition and a team; returns the team's token."""
    engine = make_engine(url)
    with Session(engine) as session:
        create_competition(session, load_bundle(BUNDLE))
        _, token = create_team(session, team)
        session.commit()
    engine.dispose()
    return token


def import_dataset(url: str, data_dir: Path, source: Path, phase: str = "aim2019/validation") -> None:
    """Import HR PNGs into a phase, as ``srchallenge dataset import`` does (uploads need a dataset)."""
    engine = make_engine(url)
    with Session(engine) as session:
        import_hr_images(Storage(data_dir), get_phase_by_path(session, phase), source, workers=1)
        session.commit()
    engine.dispose()


@contextmanager
def api_server(url: str, data_dir: Path, **settings: str):
    """(base URL, server pid); ``settings`` are extra SRCHALLENGE_* variables without the prefix."""
    port = free_port()
    env = {**os.environ, "SRCHALLENGE_DATA_DIR": str(data_dir), "SRCHALLENGE_DATABASE_URL": url,
           "SRCHALLENGE_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT_PER_MINUTE),
           **{f"SRCHALLENGE_{k.upper()}": v for k, v in settings.items()}}
    with open(data_dir / "api.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--no-migrate"],
                                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz", [proc])
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # requests still queued: no need to let them finish
            proc.kill()
            proc.wait()
