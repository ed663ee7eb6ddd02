"""Scoring-run state changes, each guarded so a late or duplicate delivery cannot undo a result.

Run lifecycle: ``queued → running → scored | failed``. The submission shows the figures of its
current run; a rescore's new figures replace them only once the new run has completed, so the old
scores stay visible meanwhile and stay in place if the rescore fails.
"""

import importlib.metadata
import socket
import subprocess
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from scoring.review import literal_total, stored_total
from server.models import RUN_PENDING, ImageScore, ScoringRun, Status, Submission, utcnow
from server.queue import QUEUE_OF_KIND
from server.services.fair_share import fair_order
from server.services.review import hold_if_needed

SUBMISSION_FIGURES = ("psnr", "params", "runtime", "runtime_baseline", "runtime_ratio", "macs", "activations",
                      "peak_memory_bytes")
REPOSITORY = Path(__file__).resolve().parents[2]


@lru_cache
def code_version() -> str:
    """Which scorer produced a figure: the package version, plus ``git describe`` in a checkout
    (computed once per process; a rescore's history then tells old and new scorers apart)."""
    try:
        version = importlib.metadata.version("srchallenge")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    if (REPOSITORY / ".git").exists():
        try:
            described = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPOSITORY,
                                       capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            described = ""
        if described:
            version += f"+{described}"
    return version[:64]


def claim_run(session: Session, run_id: int, worker: str | None = None) -> int:
    """``queued → running``; the delivery's number (1, 2, ...), or 0 when another delivery already
    took (or finished) this run. Every later write of this delivery is guarded on that number, so
    a stalled delivery that the reaper gave to another worker cannot write over it.

    The run records the scorer's version and the hidden set's version it is about to use.
    """
    now = utcnow()
    claimed = session.execute(
        update(ScoringRun)
        .where(ScoringRun.id == run_id, ScoringRun.status == Status.QUEUED)
        .values(status=Status.RUNNING, started_at=now, heartbeat_at=now, worker=worker or socket.gethostname(),
                deliveries=ScoringRun.deliveries + 1)
    ).rowcount
    delivery = 0
    if claimed:
        run = session.get(ScoringRun, run_id)
        session.refresh(run)
        delivery = run.deliveries
        run.code_version, run.dataset_version = code_version(), run.submission.phase.dataset_version
        session.execute(
            update(Submission)
            .where(Submission.id == run.submission_id, Submission.status == Status.SUBMITTED)
            .values(status=Status.RUNNING)
        )
    session.commit()
    return delivery


def claim_next_run(session: Session, woken_by: int, worker: str | None = None) -> tuple[int, int] | None:
    """Claim the run due next (services/fair_share.py) on the queue of run ``woken_by``, whose
    message woke this worker: ``(run id, delivery)``, or None when that queue has no run left
    queued (a duplicate message, or one whose run was withdrawn)."""
    woken = session.get(ScoringRun, woken_by)
    queue = QUEUE_OF_KIND[woken.submission.kind] if woken is not None else None
    session.commit()
    if queue is None:
        return None
    for run_id in fair_order(session, queue):
        delivery = claim_run(session, run_id, worker)
        if delivery:
            return run_id, delivery
    return None


def _held_by(run_id: int, statuses: tuple[str, ...], delivery: int | None):
    """The guard of a run's state change: its status, and which delivery holds it (if given)."""
    guard = [ScoringRun.id == run_id, ScoringRun.status.in_(statuses)]
    if delivery is not None:
        guard.append(ScoringRun.deliveries == delivery)
    return guard


def complete_run(
    session: Session, run: ScoringRun, figures: dict[str, Any], image_scores: dict[str, tuple[float, bool]],
    self_reported: dict[str, Any], log: str, delivery: int | None = None,
) -> bool:
    """``running → scored``: write the figures and make this run the submission's current one
    (held for organizer review if its stored numbers call for it: services/review.py).

    ``delivery`` (from ``claim_run``): only that delivery may complete the run. It still may once
    the reaper has queued the run again (its heartbeats were lost, e.g. in a database outage) as
    long as no other delivery has claimed it, so finished work is not done twice."""
    done = session.execute(
        update(ScoringRun).where(*_held_by(run.id, RUN_PENDING if delivery else (Status.RUNNING,), delivery))
        .values(status=Status.SCORED, finished_at=utcnow(), figures=figures, log=log, reason=None)
    ).rowcount
    if not done:
        session.rollback()
        return False
    session.add_all(ImageScore(run_id=run.id, image_key=key, psnr=db, capped=capped)
                    for key, (db, capped) in image_scores.items())
    submission = run.submission
    for name in SUBMISSION_FIGURES:
        setattr(submission, name, figures.get(name))
    stored = figures.get("stored")
    submission.stored_numbers = stored_total(stored) if stored else None
    submission.literals = literal_total(stored) if stored else None
    submission.device = str((figures.get("environment") or {}).get("device") or "")[:200] or None
    for name, value in self_reported.items():
        if getattr(submission, name) is None:
            setattr(submission, name, value)
    submission.status, submission.reason = Status.SCORED, None
    submission.current_run_id, submission.finished_at = run.id, utcnow()
    submission.dataset_version = run.dataset_version
    hold_if_needed(session, submission, figures)
    session.commit()
    return True


def fail_run(session: Session, run: ScoringRun, reason: str, log: str = "", platform: bool = False,
             traceback: str | None = None, delivery: int | None = None) -> bool:
    """``running → failed``. A submission with earlier scores keeps them (a failed rescore).

    ``log`` is shown to the team (its own code's output); ``traceback``, the platform's, only to
    the organizers. ``platform``: our fault, not the team's — the submission does not use up a
    quota slot.
    """
    done = session.execute(
        update(ScoringRun).where(*_held_by(run.id, RUN_PENDING, delivery))
        .values(status=Status.FAILED, finished_at=utcnow(), reason=reason, log=log, traceback=traceback)
    ).rowcount
    if not done:
        session.rollback()
        return False
    submission = run.submission
    if submission.current_run_id is None:
        submission.status, submission.reason, submission.finished_at = Status.FAILED, reason, utcnow()
        submission.platform_failure = platform
    session.commit()
    return True


def heartbeat(session: Session, run_id: int, at: datetime | None = None, delivery: int | None = None) -> None:
    session.execute(update(ScoringRun).where(*_held_by(run_id, (Status.RUNNING,), delivery))
                    .values(heartbeat_at=at or utcnow()))
    session.commit()
