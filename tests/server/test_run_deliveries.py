"""A run re-delivered after its worker stalled: only the delivery that holds it may write its
outcome, and the lost delivery's worker and start time stay in the run's history. On SQLite and
PostgreSQL (the guards are SQL)."""

from datetime import timedelta

import pytest

from server.config import Settings
from server.models import ScoringRun, Submission
from server.services.competitions import get_phase_by_path
from server.services.reaper import reap_stale_runs
from server.services.runs import claim_run, complete_run, fail_run, heartbeat
from server.services.submissions import add_scoring_run
from server.services.teams import create_team


@pytest.fixture
def db(session_on_both):
    return session_on_both


def queued_run(session) -> ScoringRun:
    team, _ = create_team(session, "stalled")
    submission = Submission(public_id="s1", phase=get_phase_by_path(session, "aim2019/validation"), team=team,
                            kind="results", status="submitted", filename="r.zip", file_size=1, file_sha256="0" * 64,
                            tracks=["psnr"])
    session.add(submission)
    run = add_scoring_run(session, submission, "upload")
    session.commit()
    return run


def stall(session, run: ScoringRun) -> None:
    """Its heartbeat is older than the lease: the reaper takes the run back."""
    heartbeat(session, run.id, at=run.heartbeat_at - timedelta(hours=1))
    session.refresh(run)
    report = reap_stale_runs(session, Settings(lease_seconds=60, max_deliveries=3), lambda *_: None)
    assert report.requeued == [run.id]


def test_a_stalled_delivery_cannot_complete_the_run_its_successor_holds(db):
    run = queued_run(db)
    first = claim_run(db, run.id, worker="w1")
    db.refresh(run)
    stall(db, run)
    second = claim_run(db, run.id, worker="w2")
    assert (first, second) == (1, 2)
    db.refresh(run)
    assert not complete_run(db, run, {"psnr": 99.0}, {}, {}, "late duplicate", delivery=first)
    assert not fail_run(db, run, "late duplicate", delivery=first)
    assert complete_run(db, run, {"psnr": 30.0}, {}, {}, "", delivery=second)
    db.refresh(run)
    assert run.status == "scored" and run.figures["psnr"] == 30.0 and run.submission.psnr == 30.0


def test_each_lost_delivery_keeps_its_worker_and_start_time(db):
    run = queued_run(db)
    claim_run(db, run.id, worker="w1")
    db.refresh(run)
    started_first = run.started_at
    stall(db, run)
    claim_run(db, run.id, worker="w2")
    db.refresh(run)
    assert run.worker == "w2"
    [lost] = run.earlier_deliveries
    assert lost["delivery"] == 1 and lost["worker"] == "w1"
    assert lost["started_at"] == started_first.isoformat()
