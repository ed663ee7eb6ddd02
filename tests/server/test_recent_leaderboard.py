"""The JSON leaderboard is served from a recent render for ``leaderboard_max_age_seconds`` and
re-read from the database after: through the real app (TestClient) on a migrated SQLite database."""

import pytest
from fastapi.testclient import TestClient

from server.bundle import load_bundle, shipped_bundle_path
from server.config import get_settings
from server.db import get_engine, get_sessionmaker
from server.main import create_app
from server.migrate import upgrade_database
from server.recent import RecentResponses
from server.services.competitions import create_competition, get_phase_by_path
from server.services.teams import create_team
from tests.server.test_leaderboard_cache import scored

CACHES = (get_settings, get_engine, get_sessionmaker)
BOARD = "/api/v1/phases/aim2019/validation/leaderboard"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("SRCHALLENGE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SRCHALLENGE_LEADERBOARD_MAX_AGE_SECONDS", "2")
    monkeypatch.delenv("SRCHALLENGE_DATABASE_URL", raising=False)
    for cached in CACHES:
        cached.cache_clear()
    (tmp_path / "var").mkdir()
    upgrade_database(get_settings().sqlalchemy_url)
    with get_sessionmaker()() as session:
        create_competition(session, load_bundle(shipped_bundle_path()))
        session.commit()
    yield create_app()
    get_engine().dispose()
    for cached in CACHES:
        cached.cache_clear()


def add_scored_team(name: str) -> None:
    with get_sessionmaker()() as session:
        team, _ = create_team(session, name)
        scored(session, get_phase_by_path(session, "aim2019/validation"), team, f"{name}-1", 30.0)


def teams(response) -> set[str]:
    assert response.status_code == 200
    return {row["team"] for track in response.json()["tracks"] for row in track["rows"]}


def test_a_new_score_shows_once_the_render_is_older_than_the_max_age(app):
    clock = app.state.recent_boards.clock = Clock()
    with TestClient(app) as client:
        assert "newcomer" not in teams(client.get(BOARD))
        add_scored_team("newcomer")
        clock.now += 1.9
        assert "newcomer" not in teams(client.get(BOARD)), "served from the recent render"
        clock.now += 0.2
        assert "newcomer" in teams(client.get(BOARD))


def test_each_track_and_phase_has_its_own_render_and_errors_are_not_kept(app):
    app.state.recent_boards.clock = Clock()
    with TestClient(app) as client:
        psnr = client.get(f"{BOARD}?track=psnr").json()
        assert [t["slug"] for t in psnr["tracks"]] == ["psnr"]
        assert len(client.get(BOARD).json()["tracks"]) == 3
        assert client.get("/api/v1/phases/aim2019/test/leaderboard").json()["phase"] == "test"
        assert client.get(f"{BOARD}?track=nope").status_code == 404
        assert client.get(f"{BOARD}?track=nope").status_code == 404
        assert client.get("/api/v1/phases/aim2019/nope/leaderboard").status_code == 404


def test_max_age_zero_keeps_nothing():
    recent = RecentResponses(0, clock=Clock())
    recent.put("k", b"body")
    assert recent.get("k") is None


def test_a_render_is_kept_for_max_age_seconds():
    clock = Clock()
    recent = RecentResponses(1.5, clock=clock)
    recent.put("k", b"body")
    clock.now += 1.4
    assert recent.get("k") == b"body" and recent.get("other") is None
    clock.now += 0.1
    assert recent.get("k") is None
