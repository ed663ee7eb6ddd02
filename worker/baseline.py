"""The ``srchallenge.measure_baseline`` task: time MSRResNet on this worker's device for a phase.

It runs on the ``gpu`` queue, like code re-runs, so the figure comes from the device that also
times submissions. The project's MSRResNet goes through the same sandboxed re-run as a team's
code (warm-up, synchronize, best of three on the phase's runtime image set), and the baseline
figure of that run is recorded on the phase.
"""

import logging
import secrets
import shutil
from pathlib import Path

import scoring.msrresnet
from server.config import get_settings
from server.db import session_scope
from server.models import Phase
from server.queue import MEASURE_BASELINE_TASK, get_celery
from server.services.baseline import record_baseline_measurement
from server.services.storage import Storage
from worker.evaluate import hidden_paths, sandbox_limits, stage_lr_inputs

log = logging.getLogger("srchallenge.worker")


@get_celery().task(name=MEASURE_BASELINE_TASK)
def measure_baseline(phase_id: int) -> str:
    with session_scope() as session:
        phase = session.get(Phase, phase_id)
        if phase is None:
            log.warning("baseline measurement for unknown phase %s dropped", phase_id)
            return "unknown phase"
        measurement = measure_baseline_runtime(phase)
    with session_scope() as session:
        phase = record_baseline_measurement(session, phase_id, measurement)
        log.info("baseline of %s measured: %s", phase.path, measurement, extra={"phase": phase.path})
    return "measured"


def measure_baseline_runtime(phase: Phase):
    """Run MSRResNet (random weights: they do not change its time) as a code submission."""
    from worker.code_eval import evaluate_code_submission

    settings = get_settings()
    storage = Storage.from_settings(settings)
    work = storage.root / "work" / f"baseline-{phase.id}-{secrets.token_hex(4)}"
    try:
        code_dir = work / "code"
        code_dir.mkdir(parents=True)
        source = Path(scoring.msrresnet.__file__).read_text()
        (code_dir / "model.py").write_text(source + "\n\ndef build_model():\n    return MSRResNet()\n")
        scoring_keys, runtime_keys = stage_lr_inputs(storage, phase, work / "lr")
        result = evaluate_code_submission(code_dir, work / "lr", storage.hr_dir(phase.competition.slug, phase.slug),
                                          runtime_keys, scoring_keys[:1], sandbox_limits(settings), work / "run",
                                          hidden=hidden_paths(settings))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result.baseline_runtime
