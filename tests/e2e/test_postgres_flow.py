"""The upload → worker → score → leaderboard flow on PostgreSQL, the database compose deploys.

The shared ``stack`` runs on SQLite; this second stack differs only in its database URL, so a
failure here and not there points at the database (types, time zones, locking).
"""

import numpy as np
import pytest

from bench.stack import start_stack, zip_bytes
from tests.e2e.test_results_flow import degraded, reference_psnr


@pytest.fixture(scope="module")
def pg_stack(tmp_path_factory, postgres):
    running = start_stack(tmp_path_factory.mktemp("pg-stack"), database_url=postgres.create_database("e2e"))
    yield running
    running.close()


def test_results_zip_is_scored_and_ranked_on_postgres(pg_stack):
    sr = degraded(pg_stack)
    body = pg_stack.submit_and_wait(pg_stack.results_zip(sr), params="900000", runtime="0.05",
                                    runtime_baseline="0.1")
    assert body["status"] == "scored", body
    expected = np.mean([reference_psnr(sr[k], pg_stack.hr[k]) for k in sorted(sr)])
    assert body["psnr"] == pytest.approx(expected, abs=1e-9)
    with pg_stack.client() as client:
        board = client.get(f"/api/v1/phases/{pg_stack.phase}/leaderboard").raise_for_status().json()
    rows = {row["team"]: row for row in board["tracks"][0]["rows"]}
    assert rows["alpha"]["psnr"] == pytest.approx(expected)
    assert rows["Baseline"]["is_baseline"]


def test_bad_zip_fails_with_a_reason_on_postgres(pg_stack):
    body = pg_stack.submit_and_wait(zip_bytes({"../evil.png": b"x"}))
    assert body["status"] == "failed" and ".." in body["reason"]


def test_database_outage_answers_503_and_recovers(pg_stack, postgres):
    """A read that needs the database answers 503 (the public board is served from its last render
    instead: tests/e2e/test_db_outage.py), and an upload is refused with Retry-After."""
    postgres.pause()
    try:
        with pg_stack.client() as client:
            assert client.get("/api/v1/submissions").status_code == 503
        refused = pg_stack.upload(pg_stack.results_zip())
        assert refused.status_code == 503 and refused.headers["retry-after"]
    finally:
        postgres.resume()
    assert pg_stack.submit_and_wait(pg_stack.results_zip())["status"] == "scored"
    uploads = pg_stack.data_dir / "uploads"
    assert all(any(folder.iterdir()) for folder in uploads.iterdir()), "a refused upload left a folder behind"
