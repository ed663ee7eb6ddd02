"""Celery tasks. A task receives a run id, claims the run under a guard, and writes its outcome.

A duplicate delivery (at-least-once queues) finds the run no longer ``queued`` and does nothing,
so a submission is never scored twice; a delivery that stalled and lost its run to another worker
cannot write its outcome (every write is guarded on the delivery's number). The outcome of
finished work is saved through a short database outage: the save is retried, on a fresh
connection each time, for up to the lease before the work is given up.
"""

import logging
import time
import traceback
from collections.abc import Callable

from celery import Task
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from scoring.errors import SubmissionError
from server.config import get_settings
from server.db import session_scope
from server.models import ScoringRun, Status
from server.queue import SCORE_RUN_TASK, get_celery
from server.services.progress import run_stage_reporter
from server.services.runs import claim_run, complete_run, fail_run
from worker.evaluate import evaluate_code, evaluate_results_zip
from worker.lifecycle import lease

log = logging.getLogger("srchallenge.worker")
PLATFORM_FAILURE = "the scoring platform failed while scoring this submission (not your fault): "


SAVE_RETRY_MAX_S = 2.0


@get_celery().task(name=SCORE_RUN_TASK, bind=True)
def score_run(task: Task, run_id: int) -> str:
    settings = get_settings()
    with session_scope() as session:
        delivery = claim_run(session, run_id, worker=task.request.hostname)
        if not delivery:
            log.info("run %s is not queued any more; duplicate delivery ignored", run_id, extra={"run": run_id})
            return "skipped"
        submission = session.get(ScoringRun, run_id).submission
        context = {"submission": submission.public_id, "run": run_id, "phase": submission.phase.path,
                   "kind": submission.kind, "worker": task.request.hostname}
        log.info("scoring run %s of submission %s", run_id, submission.public_id, extra=context)
        outcome, failure = None, None
        try:
            with lease(run_id, delivery):
                outcome = evaluate(settings, submission, run_stage_reporter(run_id, delivery))
        except SubmissionError as err:
            failure = {"reason": str(err), "log": getattr(err, "log", "")}
            log.info("submission %s failed: %s", submission.public_id, err, extra={**context, "status": Status.FAILED})
        except Exception as err:  # a bug or an outage on our side: say so, keep the worker alive
            log.exception("run %s crashed", run_id, extra={**context, "status": Status.FAILED})
            failure = {"reason": PLATFORM_FAILURE + type(err).__name__, "platform": True,
                       "traceback": traceback.format_exc(limit=20)}
        release(session)
    if failure is not None:
        save_outcome(run_id, settings.lease_seconds, context,
                     lambda s, run: fail_run(s, run, delivery=delivery, **failure))
        return Status.FAILED
    if not save_outcome(run_id, settings.lease_seconds, context, lambda s, run: complete_run(
            s, run, outcome.figures, outcome.image_scores, outcome.self_reported, outcome.log, delivery=delivery)):
        log.warning("run %s was taken over by another delivery; this result is dropped", run_id, extra=context)
        return "skipped"
    log.info("submission %s scored: %s", submission.public_id, headline(outcome.figures),
             extra={**context, "status": Status.SCORED})
    return Status.SCORED


def release(session: Session) -> None:
    """End the task's read session before saving: its connection may have died meanwhile (the
    outcome is saved on a fresh one), and then even the rollback of closing it fails."""
    try:
        session.close()
    except (OperationalError, InterfaceError):
        session.invalidate()


def save_outcome(run_id: int, within_s: float, context: dict, save: Callable[[Session, ScoringRun], bool]) -> bool:
    """Run ``save`` in a fresh session; through a database outage, again (a new connection each
    time) until ``within_s`` has passed, then give up by raising (the reaper re-queues the run)."""
    deadline, pause = time.monotonic() + within_s, 0.25
    while True:
        try:
            with session_scope() as session:
                return save(session, session.get(ScoringRun, run_id))
        except (OperationalError, InterfaceError) as err:
            if time.monotonic() + pause > deadline:
                raise
            log.warning("saving run %s failed (%s); retrying in %.2g s", run_id, type(err).__name__, pause,
                        extra=context)
            time.sleep(pause)
            pause = min(pause * 2, SAVE_RETRY_MAX_S)


def headline(figures: dict) -> str:
    """The figures a log reader wants, not every image's time."""
    return ", ".join(f"{name} {figures[name]:.6g}" for name in ("psnr", "params", "runtime", "runtime_ratio")
                     if isinstance(figures.get(name), int | float))


def evaluate(settings, submission, on_stage):
    if submission.kind == "code":
        return evaluate_code(settings, submission, on_stage)
    return evaluate_results_zip(settings, submission, on_stage)
