"""Rescue runs whose worker died, and runs whose queue message was lost.

The database, not the broker, decides: a ``running`` run whose lease (heartbeat) expired goes back
to ``queued`` and is queued again — up to ``max_deliveries`` deliveries, then it fails with a
reason that says the platform failed, not the team. A run ``queued`` for too long is queued
again; a duplicate message is harmless because claiming a run is guarded.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.config import Settings
from server.models import ScoringRun, Status, utcnow
from server.services.runs import fail_run
from server.services.submissions import queue_for

log = logging.getLogger("srchallenge.reaper")
GAVE_UP = "the scoring platform lost this job {n} times (worker crashes or outages); it was not your fault"


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


@dataclass
class ReapReport:
    requeued: list[int]
    failed: list[int]
    resent: list[int]


def reap_stale_runs(session: Session, settings: Settings, enqueue, watched_s: float = float("inf")) -> ReapReport:
    """One pass; ``enqueue(run_id, queue)`` sends a message. Safe to run from many workers at once.

    ``watched_s``: how long this reaper has reached the database without a break. Under a lease,
    no running run is judged: after an outage every heartbeat is old, and live jobs renew theirs
    within a heartbeat of the database coming back."""
    now = utcnow()
    report = ReapReport([], [], [])
    stale = session.scalars(select(ScoringRun).where(
        ScoringRun.status == Status.RUNNING, ScoringRun.heartbeat_at < now - timedelta(seconds=settings.lease_seconds)))
    for run in list(stale) if watched_s >= settings.lease_seconds else []:
        if run.deliveries >= settings.max_deliveries:
            if fail_run(session, run, GAVE_UP.format(n=run.deliveries), platform=True):
                report.failed.append(run.id)
            continue
        lost = {"delivery": run.deliveries, "worker": run.worker, "started_at": _iso(run.started_at),
                "last_heartbeat_at": _iso(run.heartbeat_at), "requeued_at": _iso(now)}
        taken = session.execute(
            update(ScoringRun).where(ScoringRun.id == run.id, ScoringRun.status == Status.RUNNING,
                                     ScoringRun.heartbeat_at == run.heartbeat_at)
            .values(status=Status.QUEUED, queued_at=now, earlier_deliveries=[*run.earlier_deliveries, lost])).rowcount
        session.commit()
        if taken:
            log.warning("run %s of submission %s lost its worker %s; queued again",
                        run.id, run.submission.public_id, run.worker,
                        extra={"submission": run.submission.public_id, "run": run.id, "worker": run.worker,
                               "status": Status.QUEUED})
            enqueue(run.id, queue_for(run.submission))
            report.requeued.append(run.id)
    forgotten = session.scalars(select(ScoringRun).where(
        ScoringRun.status == Status.QUEUED,
        ScoringRun.queued_at < now - timedelta(seconds=settings.requeue_after_seconds)))
    for run in list(forgotten):
        taken = session.execute(update(ScoringRun).where(
            ScoringRun.id == run.id, ScoringRun.status == Status.QUEUED, ScoringRun.queued_at == run.queued_at)
            .values(queued_at=now)).rowcount
        session.commit()
        if taken:
            enqueue(run.id, queue_for(run.submission))
            report.resent.append(run.id)
    return report
