"""Measuring the baseline's runtime on a GPU worker and recording it on the phase.

The phase's ``baseline_runtime`` is the reference the ranking uses where an entry has no
same-device ratio (results zips, imported entries); measuring it on the workers' own device,
by the same protocol as code re-runs, keeps it comparable. The job goes to the ``gpu`` queue
by phase id (ids only travel, as with scoring runs); the worker records the figure and a note
saying how it was measured (trials, spread, device).
"""

from sqlalchemy.orm import Session

from scoring.timing import Measurement
from server.models import Phase
from server.queue import GPU_QUEUE, MEASURE_BASELINE_TASK, get_celery
from server.services.errors import Conflict, NotFound


def request_baseline_measurement(phase: Phase) -> None:
    if phase.image_count == 0:
        raise Conflict(f"phase {phase.path} has no LR inputs to time the baseline on: import its hidden set first")
    get_celery().send_task(MEASURE_BASELINE_TASK, args=[phase.id], queue=GPU_QUEUE)


def record_baseline_measurement(session: Session, phase_id: int, measurement: Measurement) -> Phase:
    phase = session.get(Phase, phase_id)
    if phase is None:
        raise NotFound(f"no phase with id {phase_id}")
    phase.baseline_runtime, phase.baseline_runtime_note = measurement.best, str(measurement)
    session.commit()
    return phase
