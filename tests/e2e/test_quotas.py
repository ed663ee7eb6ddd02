"""Phase rules on the server: closed phases, per-day and total limits per team, what counts."""

import itertools
import time

import pytest

from bench.stack import zip_bytes

PHASE = "aim2019/test"
_team_numbers = itertools.count(1)


@pytest.fixture
def quota_team(stack):
    """A team with no submissions yet, on a phase whose rules are put back afterwards (pass or fail):
    each test stands alone and leaves the shared stack as it found it."""
    token = stack.cli("team", "create", f"quota-team-{next(_team_numbers)}").stdout.strip().splitlines()[-1]
    yield token
    stack.cli("phase", "set-limits", PHASE, "--per-day", "0", "--total", "0", "--failed-count")
    stack.cli("phase", "open", PHASE)


def test_daily_limit_answers_429_with_when_the_next_slot_opens(stack, quota_team):
    stack.cli("phase", "set-limits", PHASE, "--per-day", "2", "--total", "0")
    for _ in range(2):
        assert stack.upload(stack.results_zip(), token=quota_team, phase=PHASE).status_code == 202
    refused = stack.upload(stack.results_zip(), token=quota_team, phase=PHASE)
    assert refused.status_code == 429
    assert "next slot opens at" in refused.json()["detail"]
    assert 0 < int(refused.headers["retry-after"]) <= 24 * 3600
    assert stack.upload(stack.results_zip(), phase=PHASE).status_code == 202, "other teams are not limited"


def test_total_limit_answers_403_and_failed_ones_count_unless_the_phase_says_not(stack, quota_team):
    stack.cli("phase", "set-limits", PHASE, "--per-day", "0", "--total", "2")
    assert stack.upload(stack.results_zip(), token=quota_team, phase=PHASE).status_code == 202
    failed = stack.upload(zip_bytes({"notes.docx": b"x"}), token=quota_team, phase=PHASE)
    assert stack.wait_scored(failed.json()["id"], token=quota_team)["status"] == "failed"
    refused = stack.upload(stack.results_zip(), token=quota_team, phase=PHASE)
    assert refused.status_code == 403 and "all 2 submissions" in refused.json()["detail"]
    stack.cli("phase", "set-limits", PHASE, "--no-failed-count")
    assert stack.upload(stack.results_zip(), token=quota_team, phase=PHASE).status_code == 202


def test_closed_phase_refuses_uploads(stack, quota_team):
    stack.cli("phase", "close", PHASE)
    response = stack.upload(stack.results_zip(), token=quota_team, phase=PHASE)
    assert response.status_code == 403 and "closed" in response.json()["detail"]


def test_concurrent_uploads_cannot_both_take_the_last_slot(stack, quota_team):
    from concurrent.futures import ThreadPoolExecutor

    stack.cli("phase", "set-limits", PHASE, "--per-day", "1", "--total", "0")
    data = stack.results_zip()
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda _: stack.upload(data, token=quota_team, phase=PHASE).status_code, range(6)))
    assert sorted(codes) == [202] + [429] * 5, codes


def test_an_upload_whose_row_is_in_but_whose_slot_is_not_yet_back_counts_once(stack, quota_team):
    """Before: its slot (held until after the row commits) counted it as in flight as well as a row,
    so a team with a slot left got 429 (3 of 100 uploads in a burst)."""
    import redis
    from sqlalchemy import create_engine, text

    stack.cli("phase", "set-limits", PHASE, "--per-day", "2", "--total", "0")
    first = stack.upload(stack.results_zip(), token=quota_team, phase=PHASE)
    assert first.status_code == 202, first.text
    url = stack.env.get("SRCHALLENGE_DATABASE_URL") or f"sqlite:///{stack.data_dir / 'srchallenge.db'}"
    engine = create_engine(url)
    with engine.connect() as connection:
        team_id = connection.execute(text("SELECT team_id FROM submissions WHERE public_id = :id"),
                                     {"id": first.json()["id"]}).scalar_one()
    engine.dispose()
    # the first upload's slot, as it stands between its row's commit and the slot's release
    store = redis.Redis.from_url(stack.env["SRCHALLENGE_BROKER_URL"])
    store.zadd(f"srchallenge:upload-slots:{team_id}", {first.json()["id"]: time.time() + 60})
    try:
        second = stack.upload(stack.results_zip(), token=quota_team, phase=PHASE)
    finally:
        store.delete(f"srchallenge:upload-slots:{team_id}")
    assert second.status_code == 202, second.text
    assert stack.upload(stack.results_zip(), token=quota_team, phase=PHASE).status_code == 429, "the quota holds"
