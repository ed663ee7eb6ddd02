"""Fair share on a real queue (Redis, a real worker process): a team's burst does not push another
team's first run to the back, and a waiting team sees its place in line (API and `submit --wait`)."""

import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from bench.stack import start_stack


@pytest.fixture(scope="module")
def fair_stack(tmp_path_factory):
    stack = start_stack(tmp_path_factory.mktemp("fairness"))
    stack.stop("worker")
    yield stack
    stack.close()


def started_order(stack) -> list[str]:
    engine = create_engine(f"sqlite:///{stack.data_dir / 'srchallenge.db'}")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT s.public_id FROM scoring_runs r JOIN submissions s "
                                       "ON s.id = r.submission_id ORDER BY r.started_at, r.id")).all()
    engine.dispose()
    return [row[0] for row in rows]


def place(stack, accepted, token=None) -> int:
    """An upload's place in line, as GET /submissions/{id} gives it (the 202 does not read the line)."""
    with stack.client(token) as client:
        return client.get(accepted.json()["url"]).raise_for_status().json()["queue_position"]


def test_a_late_team_is_served_before_the_rest_of_a_burst(fair_stack):
    """Before: FIFO, the late team's run went after the whole burst."""
    burst = [fair_stack.upload(fair_stack.results_zip()) for _ in range(4)]
    assert [r.status_code for r in burst] == [202] * 4
    assert [place(fair_stack, r) for r in burst] == [1, 2, 3, 4]
    late_token = fair_stack.cli("team", "create", "late").stdout.strip().splitlines()[-1]
    late = fair_stack.upload(fair_stack.results_zip(), token=late_token)
    assert place(fair_stack, late, late_token) == 2, "after the burst's first run (its team is not served yet either)"
    waiting = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "submit", str(write_zip(fair_stack)), "--phase", fair_stack.phase,
         "--token", late_token, "--server", fair_stack.url, "--wait", "--timeout", "120"],
        env=fair_stack.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = waiting.stderr.readline()
        assert "submitted (4 in line" in first_line, first_line  # round-robin: burst, late, burst, late
        fair_stack.start_worker()
        out, err = waiting.communicate(timeout=180)
    finally:
        waiting.kill()
    assert waiting.returncode == 0, out + err
    ids = [r.json()["id"] for r in burst]
    for public_id in ids:
        assert fair_stack.wait_scored(public_id)["status"] == "scored"
    order = started_order(fair_stack)
    assert order[:3] == [ids[0], late.json()["id"], ids[1]], order
    assert order.index(late.json()["id"]) < order.index(ids[2]), "before the burst's rest"


def write_zip(stack):
    path = stack.root / "late-second.zip"
    path.write_bytes(stack.results_zip())
    return path
