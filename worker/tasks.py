"""Celery tasks. A task receives a run id, claims the run under a guard, and writes its outcome.

A duplicate delivery (at-least-once queues) finds the run no longer ``queued`` and does nothing,
so a submission is never scored twice.
"""

import logging
import traceback

from celery import Task

from scoring.errors import SubmissionError
from server.config import get_settings
from server.db import session_scope
from server.models import ScoringRun, Status
from server.queue import SCORE_RUN_TASK, get_celery
from server.services.runs import claim_run, complete_run, fail_run
from worker.evaluate import evaluate_code, evaluate_results_zip
from worker.lifecycle import lease

log = logging.getLogger("srchallenge.worker")
PLATFORM_FAILURE = "the scoring platform failed while scoring this submission (not your fault): "


@get_celery().task(name=SCORE_RUN_TASK, bind=True)
def score_run(task: Task, run_id: int) -> str:
    settings = get_settings()
    with session_scope() as session:
        if not claim_run(session, run_id, worker=task.request.hostname):
            log.info("run %s is not queued any more; duplicate delivery ignored", run_id, extra={"run": run_id})
            return "skipped"
        run = session.get(ScoringRun, run_id)
        submission = run.submission
        context = {"submission": submission.public_id, "run": run_id, "phase": submission.phase.path,
                   "kind": submission.kind, "worker": task.request.hostname}
        log.info("scoring run %s of submission %s", run_id, submission.public_id, extra=context)
        try:
            with lease(run_id):
                outcome = evaluate(settings, submission)
        except SubmissionError as err:
            fail_run(session, run, str(err), getattr(err, "log", ""))
            log.info("submission %s failed: %s", submission.public_id, err, extra={**context, "status": Status.FAILED})
            return Status.FAILED
        except Exception as err:  # a bug or an outage on our side: say so, keep the worker alive
            log.exception("run %s crashed", run_id, extra={**context, "status": Status.FAILED})
            fail_run(session, run, PLATFORM_FAILURE + type(err).__name__, platform=True,
                     traceback=traceback.format_exc(limit=20))
            return Status.FAILED
        complete_run(session, run, outcome.figures, outcome.image_scores, outcome.self_reported, outcome.log)
        log.info("submission %s scored: %s", submission.public_id, headline(outcome.figures),
                 extra={**context, "status": Status.SCORED})
        return Status.SCORED


def headline(figures: dict) -> str:
    """The figures a log reader wants, not every image's time."""
    return ", ".join(f"{name} {figures[name]:.6g}" for name in ("psnr", "params", "runtime", "runtime_ratio")
                     if isinstance(figures.get(name), int | float))


def evaluate(settings, submission):
    if submission.kind == "code":
        return evaluate_code(settings, submission)
    return evaluate_results_zip(settings, submission)
