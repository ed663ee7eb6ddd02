"""The ``srchallenge.measure_baseline`` task: time the bundle's baseline on this worker's device for a phase.

It runs on the ``gpu`` queue, like code re-runs, so the figure comes from the device that also
times submissions. The platform's definition of the bundle's baseline (scoring/<name>.py) at the
bundle's scale goes through the same sandboxed re-run as a team's code (warm-up, synchronize, the
bundle's trials on the phase's runtime image set), and the baseline
figure of that run is recorded on the phase (server/services/baseline.py says when it is
refused).
"""

import importlib
import logging
import secrets
import shutil
from pathlib import Path

from celery import Task

from scoring.baselines import not_timed_in_job
from server.config import Settings, get_settings
from server.db import session_scope
from server.models import BaselineStatus, Phase
from server.queue import MEASURE_BASELINE_TASK, get_celery
from server.services.baseline import fail_measurement, finish_measurement, start_measurement
from server.services.progress import StageReport, baseline_stage_reporter
from server.services.storage import Storage
from worker.evaluate import baseline_job, hidden_paths, job_gpu, sandbox_limits, stage_lr_inputs, times_on_gpu

log = logging.getLogger("srchallenge.worker")


@get_celery().task(name=MEASURE_BASELINE_TASK, bind=True)
def measure_baseline(task: Task, record_id: int) -> str:
    with session_scope() as session:
        record = start_measurement(session, record_id, task.request.hostname, worker_device_class(get_settings()))
        if record is None:
            log.info("baseline record %s not queued any more (refused, done, or a duplicate)", record_id)
            return "skipped"
        phase = record.phase
        try:
            measurement = measure_baseline_runtime(phase, baseline_stage_reporter(record_id))
        except Exception as err:  # the record says what went wrong; the worker lives on
            log.exception("baseline measurement %s crashed", record_id, extra={"phase": phase.path})
            fail_measurement(session, record_id, failure_reason(err, get_settings()))
            return BaselineStatus.FAILED
        record = finish_measurement(session, record_id, measurement)
        log.info("baseline of %s measured: %s (%s)", phase.path, measurement, record.status,
                 extra={"phase": phase.path})
        return record.status


class BaselineNotBuilt(Exception):
    """The sandbox cannot build the bundle's baseline at its scale (scoring/baselines.py)."""


def worker_device_class(settings: Settings) -> str:
    """The class of device this worker times on, chosen as for code re-runs (SRCHALLENGE_SANDBOX_DEVICE)."""
    return "gpu" if times_on_gpu(settings) else "cpu"


def failure_reason(err: Exception, settings: Settings) -> str:
    """For the organizer: a stage stopped at its wall time names the setting that bounds it."""
    reason = f"{type(err).__name__}: {err}"
    if getattr(err, "hit_wall_limit", False):
        reason += (f"; each sandboxed stage may run {settings.sandbox_wall_seconds:g} s "
                   "(SRCHALLENGE_SANDBOX_WALL_SECONDS on the worker): raise it for a slower device or more images")
    return reason


def measure_baseline_runtime(phase: Phase, on_stage: StageReport):
    """Run the bundle's baseline at its scale (random weights: they do not change its time) as a code
    submission, its figure the one timed in the job. Refused where the sandbox does not build it."""
    from worker.code_eval import evaluate_code_submission

    job = baseline_job(phase.competition)
    why = not_timed_in_job(job["name"], job["scale"])
    if why:
        raise BaselineNotBuilt(why.split(":")[0] + "; set its runtime with `srchallenge baseline set --runtime`")

    settings = get_settings()
    storage = Storage.from_settings(settings)
    work = storage.root / "work" / f"baseline-{phase.id}-{secrets.token_hex(4)}"
    try:
        code_dir = work / "code"
        code_dir.mkdir(parents=True)
        source = Path(importlib.import_module(f"scoring.{job['name'].lower()}").__file__).read_text()
        build = f"\n\ndef build_model():\n    return {job['name']}(scale={job['scale']})\n"
        (code_dir / "model.py").write_text(source + build)
        on_stage("copying the LR inputs")
        scoring_keys, runtime_keys = stage_lr_inputs(storage, phase, work / "lr")
        gpu = job_gpu(settings)
        result = evaluate_code_submission(code_dir, work / "lr", storage.hr_dir(phase.competition.slug, phase.slug),
                                          runtime_keys, scoring_keys[:1], sandbox_limits(settings, gpu), work / "run",
                                          hidden=hidden_paths(settings), gpu=gpu, scale=phase.competition.scale,
                                          shave=phase.competition.shave_border, baseline=job,
                                          timing=phase.competition.timing or None,
                                          on_stage=on_stage)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result.baseline_runtime
