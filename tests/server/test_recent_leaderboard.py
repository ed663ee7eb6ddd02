"""The JSON leaderboard is served from a recent render (``leaderboard_max_age_seconds``), kept a
while longer while one refresh runs, and re-read from the database after: through the real app
(TestClient) on a migrated SQLite database, and the cache's own rules in isolation."""

import asyncio
import time

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


def eventually_has(client, team: str) -> None:
    deadline = time.monotonic() + 10
    while team not in teams(client.get(BOARD)):
        assert time.monotonic() < deadline, f"{team} never appeared"
        time.sleep(0.05)


def test_a_new_score_shows_once_the_render_is_older_than_the_max_age(app):
    clock = app.state.recent_boards.clock = Clock()
    with TestClient(app) as client:
        assert "newcomer" not in teams(client.get(BOARD))
        add_scored_team("newcomer")
        clock.now += 1.9
        assert "newcomer" not in teams(client.get(BOARD)), "served from the recent render"
        clock.now += 0.2
        assert "newcomer" not in teams(client.get(BOARD)), "kept while the refresh runs"
        eventually_has(client, "newcomer")  # the refresh replaced it
        add_scored_team("latecomer")
        clock.now += 4.1  # over twice the max age: rendered while the request waits
        assert "latecomer" in teams(client.get(BOARD))


def test_the_competition_page_is_served_from_a_recent_render_too(app):
    """Before: the HTML page was rendered from the database on every request (206 ms at 1,201
    submissions)."""
    clock = app.state.recent_boards.clock = Clock()
    page = "/competitions/aim2019?phase=validation"
    with TestClient(app) as client:
        assert "newcomer" not in client.get(page).text
        add_scored_team("newcomer")
        clock.now += 1.9
        assert "newcomer" not in client.get(page).text, "served from the recent render"
        clock.now += 4.2
        assert "newcomer" in client.get(page).text
        assert client.get("/competitions/aim2019?phase=nope").status_code == 404, "errors are not kept"


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


class Renders:
    """A render that counts its calls and can be held until released, or made to fail."""

    def __init__(self):
        self.calls, self.fail = 0, False
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self) -> bytes:
        self.calls += 1
        await self.release.wait()
        if self.fail:
            raise RuntimeError("database down")
        return f"v{self.calls}".encode()


def test_one_refresh_at_a_time_and_the_kept_body_meanwhile():
    async def scenario():
        clock, render = Clock(), Renders()
        recent = RecentResponses(1.0, clock=clock)
        assert await recent.get("k", render) == b"v1"
        clock.now += 0.5
        assert await recent.get("k", render) == b"v1" and render.calls == 1
        clock.now += 0.6  # stale: kept, and one refresh starts however many requests come
        render.release.clear()
        assert [await recent.get("k", render) for _ in range(5)] == [b"v1"] * 5
        await asyncio.sleep(0)
        assert render.calls == 2
        render.release.set()
        await asyncio.sleep(0.01)
        assert await recent.get("k", render) == b"v2" and render.calls == 2

    asyncio.run(scenario())


def test_a_failed_refresh_keeps_nothing_new_and_an_old_render_is_not_served():
    async def scenario():
        clock, render = Clock(), Renders()
        recent = RecentResponses(1.0, clock=clock)
        await recent.get("k", render)
        render.fail = True
        clock.now += 1.5
        assert await recent.get("k", render) == b"v1"
        await asyncio.sleep(0.01)  # the refresh failed (logged)
        clock.now += 0.6  # now past twice the max age: the request renders, and sees the error
        with pytest.raises(RuntimeError, match="database down"):
            await recent.get("k", render)

    asyncio.run(scenario())


def test_max_age_zero_keeps_nothing():
    async def scenario():
        render = Renders()
        recent = RecentResponses(0, clock=Clock())
        assert [await recent.get("k", render) for _ in range(3)] == [b"v1", b"v2", b"v3"]

    asyncio.run(scenario())
