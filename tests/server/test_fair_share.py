"""Which queued run a worker takes next: fair across teams, the final phase first, on SQLite and
PostgreSQL (the order is read with SQL). Real workers and Redis: tests/e2e/test_fairness.py."""

import itertools

import pytest

from server.config import Settings
from server.models import ScoringRun, Submission
from server.services.competitions import get_phase_by_path
from server.services.fair_share import fair_order, places_in_line
from server.services.reaper import reap_stale_runs
from server.services.runs import claim_next_run, claim_run, complete_run
from server.services.submissions import add_scoring_run
from server.services.teams import create_team

_ids = itertools.count(1)


@pytest.fixture
def db(session_on_both):
    return session_on_both


def queue_runs(session, team, count: int, phase: str = "aim2019/validation", kind: str = "code") -> list[int]:
    runs = []
    for _ in range(count):
        submission = Submission(public_id=f"s{next(_ids)}", phase=get_phase_by_path(session, phase), team=team,
                                kind=kind, status="submitted", filename="c.zip", file_size=1, file_sha256="0" * 64,
                                tracks=["psnr"])
        session.add(submission)
        runs.append(add_scoring_run(session, submission, "upload").id)
    session.commit()
    return runs


def test_a_late_teams_first_run_goes_before_the_bursts_rest(db):
    """Before: FIFO, so the late team's run was taken after every run of the ten teams' bursts."""
    teams = [create_team(db, f"burst-{i}")[0] for i in range(10)]
    bursts = [queue_runs(db, team, 5) for team in teams]
    assert fair_order(db, "gpu")[:10] == [burst[0] for burst in bursts], "each team's first run, in arrival order"
    for burst in bursts:  # every team has had a run started
        assert claim_next_run(db, burst[0], worker="w")[0] == burst[0]
    late = queue_runs(db, create_team(db, "late")[0], 1)
    order = fair_order(db, "gpu")
    assert order[0] == late[0]
    assert order[1:11] == [burst[1] for burst in bursts], "then round-robin over the teams, least recently served first"
    assert fair_order(db, "scoring") == [], "each queue has its own line"


def test_the_final_phase_goes_before_validation(db):
    team, other = create_team(db, "a")[0], create_team(db, "b")[0]
    validation = queue_runs(db, team, 2)
    final = queue_runs(db, other, 1, phase="aim2019/test")
    assert fair_order(db, "gpu") == [final[0], *validation]


def test_a_message_whose_run_was_taken_claims_the_next_one_and_a_spare_one_claims_nothing(db):
    team = create_team(db, "solo")[0]
    first, second = queue_runs(db, team, 2)
    assert claim_next_run(db, second, worker="w")[0] == first, "a message wakes a worker; the order decides"
    assert claim_next_run(db, first, worker="w")[0] == second
    assert claim_next_run(db, first, worker="w") is None


def test_the_place_in_line_and_an_estimated_start(db):
    team, other = create_team(db, "busy")[0], create_team(db, "waiting")[0]
    [done] = queue_runs(db, team, 1)
    run = db.get(ScoringRun, done)
    delivery = claim_run(db, done, worker="w")
    assert complete_run(db, run, {"psnr": 30.0}, {}, {}, "", delivery=delivery)
    [running, *burst] = queue_runs(db, team, 3)
    assert claim_next_run(db, running, worker="w")[0] == running
    [mine] = queue_runs(db, other, 1)
    places = places_in_line(db, [db.get(ScoringRun, run_id) for run_id in (mine, *burst, running)])
    assert places[mine].position == 1 and places[mine].estimated_start is not None
    assert places[burst[1]].position == 3 and places[mine].estimated_start <= places[burst[1]].estimated_start
    assert running not in places, "a running run has no place in line"


def test_a_result_saved_after_the_reaper_took_its_run_back_counts_while_no_one_else_claimed_it(db):
    """Before: a job whose heartbeats an outage stopped lost its finished result to the reaper."""
    [run_id] = queue_runs(db, create_team(db, "outage")[0], 1)
    delivery = claim_run(db, run_id, worker="w")
    run = db.get(ScoringRun, run_id)
    run.heartbeat_at = run.heartbeat_at.replace(year=2000)
    db.commit()
    assert reap_stale_runs(db, Settings(lease_seconds=60), lambda *_: None).requeued == [run_id]
    assert complete_run(db, run, {"psnr": 30.0}, {}, {}, "", delivery=delivery)
    assert claim_next_run(db, run_id, worker="w2") is None, "its message finds nothing to do"


def test_a_reaper_back_from_an_outage_waits_a_lease_before_judging_heartbeats(db):
    [run_id] = queue_runs(db, create_team(db, "cut-off")[0], 1)
    claim_run(db, run_id, worker="w")
    run = db.get(ScoringRun, run_id)
    run.heartbeat_at = run.heartbeat_at.replace(year=2000)
    db.commit()
    settings = Settings(lease_seconds=60)
    assert reap_stale_runs(db, settings, lambda *_: None, watched_s=5).requeued == []
    assert reap_stale_runs(db, settings, lambda *_: None, watched_s=60).requeued == [run_id]
