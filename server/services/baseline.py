"""The baseline's figures of a phase: set by hand, measured on a worker, versioned, restorable.

The phase holds the figures the ranking uses; every change appends a ``BaselineRecord`` holding
the complete figures after it, so nothing a board was ranked against is lost and any earlier
version can be restored (``revert_baseline``). Each change is also an audit event.

Measuring: the phase's ``baseline_runtime`` is the reference the ranking uses where an entry has
no same-device ratio (results zips, imported entries); measuring it on the workers' own device,
by the same protocol as code re-runs, keeps it comparable. A runtime taken on another device class
than the phase's (a CPU worker for a GPU-timed phase) would silently re-rank the board, so it is
refused unless the organizer forces it. The job goes to the ``gpu`` queue with the record's id
(ids only travel, as with scoring runs); the record shows it queued, running, and how it ended.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.bounds import MAX_PARAMS, MAX_SECONDS_PER_IMAGE
from scoring.timing import Measurement, runtime_figure
from server.models import BASELINE_PENDING, BaselineRecord, BaselineStatus, Phase, utcnow
from server.queue import GPU_QUEUE, MEASURE_BASELINE_TASK, get_celery
from server.services.audit import record_event
from server.services.errors import Conflict, NotFound, ServiceError, Unavailable

DEVICE_CLASSES = ("gpu", "cpu")
DEVICE_NAME_CHARS = 200  # BaselineRecord.runtime_device's column
NOTE_CHARS = 500


def device_class(device: str) -> str:
    """The measure runner names a CPU "CPU: <model>"; anything else is a CUDA device's name."""
    return "cpu" if device.strip().lower().startswith("cpu") else "gpu"


def _snapshot(phase: Phase, source: str, actor: str, **fields) -> BaselineRecord:
    return BaselineRecord(phase_id=phase.id, source=source, actor=actor, status=BaselineStatus.DONE, psnr=phase.baseline_psnr,
                          psnr_note=phase.baseline_psnr_note, params=phase.baseline_params,
                          runtime=phase.baseline_runtime, runtime_note=phase.baseline_runtime_note,
                          runtime_device=phase.baseline_runtime_device, finished_at=utcnow(), **fields)


def _figures(phase: Phase) -> dict:
    return {"psnr": phase.baseline_psnr, "psnr_note": phase.baseline_psnr_note, "params": phase.baseline_params,
            "runtime": phase.baseline_runtime, "runtime_device": phase.baseline_runtime_device}


def _record_change(session: Session, phase: Phase, before: dict, source: str, actor: str, **fields) -> BaselineRecord:
    record = _snapshot(phase, source, actor, **fields)
    session.add(record)
    session.flush()
    after = _figures(phase)
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    summary = f"baseline of {phase.path} ({source}, version #{record.id}): " + (
        "; ".join(f"{k} {old!r} → {new!r}" for k, (old, new) in changed.items()) or "no figure changed")
    record_event(session, actor, f"baseline.{source}", phase.path, summary,
                 {"record": record.id, "changed": changed, **({"reason": fields["reason"]} if "reason" in fields else {})})
    return record


def record_bundle_baseline(session: Session, phase: Phase, actor: str) -> BaselineRecord:
    """The first version of a new phase's figures: the bundle's."""
    session.flush()
    record = _snapshot(phase, "bundle", actor)
    session.add(record)
    return record


def set_baseline(session: Session, phase: Phase, actor: str, *, psnr: float | None = None,
                 psnr_not_measured: str | None = None, params: int | None = None, runtime: float | None = None,
                 runtime_device: str | None = None, force: bool = False) -> BaselineRecord:
    """Set some of the figures by hand; those left out stay. ``psnr_not_measured`` removes the PSNR
    (with the reason, shown on the board) where no true figure for the phase's images is known.
    Refusals name the figures, not the CLI's options or the API's fields: both callers show them."""
    if psnr is None and psnr_not_measured is None and params is None and runtime is None:
        raise ServiceError("give at least one figure: the PSNR, the reason it is not measured, the parameter count "
                           "or the runtime")
    if psnr is not None and psnr_not_measured is not None:
        raise ServiceError("give either a PSNR or the reason it is not measured, not both")
    if psnr is not None and not 0 < psnr < 200:
        raise ServiceError(f"a PSNR is a positive number of dB below 200, got {psnr}")
    if params is not None and not 0 < params <= MAX_PARAMS:
        raise ServiceError(f"the baseline's parameter count must be from 1 to {MAX_PARAMS:,}, got {params}")
    if runtime is not None and not 0 < runtime <= MAX_SECONDS_PER_IMAGE:  # NaN and inf fail too
        raise ServiceError(f"the baseline's runtime must be positive seconds per image, at most "
                           f"{MAX_SECONDS_PER_IMAGE:g}, got {runtime}")
    if runtime_device is not None and len(runtime_device) > DEVICE_NAME_CHARS:
        raise ServiceError(f"a device name is at most {DEVICE_NAME_CHARS} characters")
    if psnr_not_measured is not None and len(psnr_not_measured) > NOTE_CHARS:
        raise ServiceError(f"the reason the PSNR is not measured is at most {NOTE_CHARS} characters")
    if runtime_device is not None and runtime is None:
        raise ServiceError("a device names where a runtime was taken: give the runtime with it")
    if runtime_device is not None and not force and device_class(runtime_device) != phase.runtime_device_class:
        raise Conflict(_wrong_class(phase, runtime_device))
    before = _figures(phase)
    if psnr is not None:
        phase.baseline_psnr, phase.baseline_psnr_note = psnr, None
    if psnr_not_measured is not None:
        phase.baseline_psnr, phase.baseline_psnr_note = None, psnr_not_measured.strip() or "not measured"
    if params is not None:
        phase.baseline_params = params
    if runtime is not None:
        phase.baseline_runtime = runtime
        phase.baseline_runtime_device = runtime_device
        phase.baseline_runtime_note = f"set by {actor}" + (f" (on {runtime_device})" if runtime_device else "")
    return _record_change(session, phase, before, "set", actor, force=force)


def _wrong_class(phase: Phase, device: str, klass: str | None = None) -> str:
    return (f"{device} is a {(klass or device_class(device)).upper()}, but {phase.path} compares runtimes measured on a "
            f"{phase.runtime_device_class.upper()}: its figure would re-rank the board against another device. "
            "Measure on a worker of that class, or pass --force (the API's `force`) to record it anyway")


def baseline_history(session: Session, phase: Phase) -> list[BaselineRecord]:
    """Oldest first: versions of the figures and every measurement, with how it ended."""
    return list(session.scalars(select(BaselineRecord).where(BaselineRecord.phase_id == phase.id)
                                .order_by(BaselineRecord.id)))


def revert_baseline(session: Session, phase: Phase, actor: str, to: int | None = None) -> BaselineRecord:
    """Restore an earlier version of the figures (by default the one before the current one)."""
    versions = [r for r in baseline_history(session, phase) if r.status == BaselineStatus.DONE]
    if to is None:
        if len(versions) < 2:
            raise Conflict(f"{phase.path} has no earlier baseline version to go back to")
        target = versions[-2]
    else:
        target = next((r for r in versions if r.id == to), None)
        if target is None:
            raise NotFound(f"{phase.path} has no baseline version #{to}; its baseline history lists the versions")
    before = _figures(phase)
    phase.baseline_psnr, phase.baseline_psnr_note = target.psnr, target.psnr_note
    phase.baseline_params = target.params if target.params is not None else phase.baseline_params
    phase.baseline_runtime, phase.baseline_runtime_note = target.runtime, target.runtime_note
    phase.baseline_runtime_device = target.runtime_device
    return _record_change(session, phase, before, "revert", actor, reason=f"back to version #{target.id}")


def request_baseline_measurement(session: Session, phase: Phase, actor: str, force: bool = False) -> BaselineRecord:
    """Queue a measurement (committed first, so the worker finds its record); one at a time per phase."""
    if phase.image_count == 0:
        raise Conflict(f"phase {phase.path} has no LR inputs to time the baseline on: import its hidden set first")
    pending = session.scalar(select(BaselineRecord).where(BaselineRecord.phase_id == phase.id,
                                                          BaselineRecord.status.in_(BASELINE_PENDING)))
    if pending is not None:
        raise Conflict(f"a baseline measurement of {phase.path} is already {pending.status} (#{pending.id})")
    record = BaselineRecord(phase_id=phase.id, source="measure", status=BaselineStatus.QUEUED, actor=actor, force=force)
    session.add(record)
    session.commit()
    try:
        get_celery().send_task(MEASURE_BASELINE_TASK, args=[record.id], queue=GPU_QUEUE)
    except Exception as err:  # no reaper sends it again: left queued, it would refuse every later one
        _end(record, BaselineStatus.FAILED, f"the queue could not be reached: {err}")
        session.commit()
        raise Unavailable(f"the queue could not be reached ({err}); nothing was measured, try again") from None
    return record


def get_record(session: Session, record_id: int) -> BaselineRecord:
    record = session.get(BaselineRecord, record_id)
    if record is None:
        raise NotFound(f"no baseline record #{record_id}")
    return record


def start_measurement(session: Session, record_id: int, worker: str, worker_device_class: str) -> BaselineRecord | None:
    """queued → running on this worker; None when there is nothing to do (finished, or a duplicate
    delivery). A worker of the wrong device class refuses at once, before spending minutes timing."""
    record = session.get(BaselineRecord, record_id)
    if record is None or record.status not in BASELINE_PENDING:
        return None
    record.status, record.started_at, record.worker = BaselineStatus.RUNNING, utcnow(), worker
    if worker_device_class != record.phase.runtime_device_class and not record.force:
        _end(record, BaselineStatus.REFUSED, _wrong_class(record.phase, "this worker's device", worker_device_class))
        session.commit()
        return None
    session.commit()
    return record


def finish_measurement(session: Session, record_id: int, measurement: Measurement) -> BaselineRecord:
    """Record a measured runtime on the phase (the bundle's timing protocol over the trials, as a
    submission's runtime is made), unless it was taken on the wrong device class."""
    record = get_record(session, record_id)
    phase = record.phase
    if device_class(measurement.device) != phase.runtime_device_class and not record.force:
        _end(record, BaselineStatus.REFUSED, _wrong_class(phase, measurement.device))
        return record
    before = _figures(phase)
    runtime, protocol = runtime_figure(measurement, (phase.competition.timing or {}).get("protocol", "best_of"))
    note = str(measurement) if protocol.startswith("best") else \
        f"{runtime * 1e3:.2f} ms/image, {protocol}; {measurement}"
    phase.baseline_runtime, phase.baseline_runtime_note = runtime, note
    phase.baseline_runtime_device = measurement.device
    session.flush()
    after = _snapshot(phase, "measure", record.actor)
    for name in ("psnr", "psnr_note", "params", "runtime", "runtime_note", "runtime_device"):
        setattr(record, name, getattr(after, name))
    _end(record, BaselineStatus.DONE, "forced onto another device class" if record.force and
         device_class(measurement.device) != phase.runtime_device_class else None)
    changed = {"runtime": [before["runtime"], phase.baseline_runtime],
               "runtime_device": [before["runtime_device"], measurement.device]}
    record_event(session, record.actor, "baseline.measure", phase.path,
                 f"baseline of {phase.path} measured (version #{record.id}): runtime {before['runtime']!r} → "
                 f"{phase.baseline_runtime!r} on {measurement.device}", {"record": record.id, "changed": changed})
    return record


def fail_measurement(session: Session, record_id: int, reason: str) -> None:
    record = session.get(BaselineRecord, record_id)
    if record is not None and record.status in BASELINE_PENDING:
        _end(record, BaselineStatus.FAILED, reason)


def _end(record: BaselineRecord, status: BaselineStatus, reason: str | None) -> None:
    record.status, record.reason, record.finished_at = status, reason, utcnow()
