"""The ``srchallenge.measure_baseline`` task: time MSRResNet on this worker's device for a phase.

It runs on the ``gpu`` queue, like code re-runs, so the figure comes from the device that also
times submissions. The timing itself is ``worker.code_eval.measure_baseline_runtime(lr_dir, keys)``
→ ``scoring.timing.Measurement`` (the code re-run's protocol: warm-up, synchronize, best of three,
on ``<key>x4.png`` in ``lr_dir``); this task only loads the phase and records what was measured.
"""

import logging

from server.config import get_settings
from server.db import session_scope
from server.models import Phase
from server.services.baseline import MEASURE_BASELINE_TASK, record_baseline_measurement
from server.services.datasets import hr_keys
from server.services.storage import Storage
from worker.celery_app import get_celery

log = logging.getLogger("srchallenge.worker")


@get_celery().task(name=MEASURE_BASELINE_TASK)
def measure_baseline(phase_id: int) -> str:
    from worker.code_eval import measure_baseline_runtime

    storage = Storage.from_settings(get_settings())
    with session_scope() as session:
        phase = session.get(Phase, phase_id)
        if phase is None:
            log.warning("baseline measurement for unknown phase %s dropped", phase_id)
            return "unknown phase"
        lr_dir = storage.lr_dir(phase.competition.slug, phase.slug)
        keys = hr_keys(storage, phase)
    measurement = measure_baseline_runtime(lr_dir, keys)
    with session_scope() as session:
        phase = record_baseline_measurement(session, phase_id, measurement)
        log.info("baseline of %s measured: %s", phase.path, measurement)
    return "measured"
