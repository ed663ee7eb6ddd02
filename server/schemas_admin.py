"""Response models of the organizer API (``/api/v1/admin``), shared with the CLI.

The CLI renders these same models whether it reads the database itself or calls a remote
deployment, so ``--json`` output has one shape either way.
"""

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from server.models import AuditEvent, BaselineRecord, BaselineStatus, Phase, ScoringRun, Status, Submission
from server.schemas import PhaseOut
from server.services.errors import ServiceError
from server.services.schedule import duration, phase_window


class FiguresOut(BaseModel):
    """The figures a submission shows: those of its current run (None until one is scored)."""

    psnr: float | None
    params: int | None
    runtime: float | None
    runtime_ratio: float | None
    stored_numbers: int | None = None
    literals: int | None = None

    @classmethod
    def of(cls, submission: Submission) -> "FiguresOut":
        return cls(psnr=submission.psnr, params=submission.params, runtime=submission.runtime,
                   runtime_ratio=submission.runtime_ratio, stored_numbers=submission.stored_numbers,
                   literals=submission.literals)


class RunOut(BaseModel):
    """One scoring attempt, with the versions that produced its figures.

    ``log`` is what the team sees too (its code's capped output); ``traceback`` is the platform's
    when the run failed on our side, shown to organizers only.
    """

    id: int
    submission: str
    team: str
    phase: str
    attempt: int
    status: str
    reason: str | None
    requested_by: str
    queued_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None
    worker: str | None
    code_version: str | None
    dataset_version: str | None
    deliveries: int
    figures: dict[str, Any]
    log: str
    traceback: str | None
    stage: str | None = None
    """Where the run is while running, as its worker reports it (services/progress.py)."""

    @classmethod
    def of(cls, run: ScoringRun) -> "RunOut":
        submission = run.submission
        fields = {name: getattr(run, name) for name in (
            "id", "attempt", "status", "reason", "requested_by", "queued_at", "started_at", "heartbeat_at",
            "finished_at", "worker", "code_version", "dataset_version", "deliveries", "figures", "traceback")}
        fields["stage"] = run.stage if run.status == Status.RUNNING else None
        return cls(submission=submission.public_id, team=submission.team.name, phase=submission.phase.path,
                   log=run.log or "", **fields)


class ReviewDecisionOut(BaseModel):
    """One step of a submission's review: held by the platform, approved or rejected by an organizer."""

    decision: str
    reason: str
    decided_by: str
    decided_at: datetime


class AdminSubmissionOut(BaseModel):
    """Any team's submission as an organizer sees it; ``runs`` and ``reviews`` (its whole history) on ``show``."""

    id: str
    phase: str
    team: str
    kind: str
    status: str
    reason: str | None
    created_at: datetime
    finished_at: datetime | None
    filename: str
    tracks: list[str]
    figures: FiguresOut
    current_run_id: int | None
    review: str | None = None
    review_note: str | None = None
    runs: list[RunOut] | None = None
    reviews: list[ReviewDecisionOut] | None = None

    @classmethod
    def of(cls, submission: Submission, with_runs: bool = False) -> "AdminSubmissionOut":
        return cls(id=submission.public_id, phase=submission.phase.path, team=submission.team.name,
                   kind=submission.kind, status=submission.status, reason=submission.reason,
                   created_at=submission.created_at, finished_at=submission.finished_at,
                   filename=submission.filename, tracks=submission.tracks, figures=FiguresOut.of(submission),
                   current_run_id=submission.current_run_id, review=submission.review,
                   review_note=submission.review_note,
                   runs=[RunOut.of(run) for run in submission.runs] if with_runs else None,
                   reviews=[ReviewDecisionOut(decision=d.decision, reason=d.reason, decided_by=d.decided_by,
                                              decided_at=d.decided_at) for d in submission.reviews]
                   if with_runs else None)


class RescoreRequest(BaseModel):
    """Whose submissions to score again: one submission, a team's (optionally in one phase),
    or everyone's in a phase (``all`` with ``phase``)."""

    team: str | None = None
    phase: str | None = None
    submission: str | None = None
    all: bool = False


class RescoreItemOut(BaseModel):
    """One submission's rescore: the run that will carry its new figures, and the figures now shown.

    ``already_pending`` means a run was already queued or running, and that run is returned
    instead of a second one; ``sent`` is False when the broker could not be reached (the run
    stays queued in the database and the reaper sends it again).
    """

    submission: str
    team: str
    kind: str
    queue: str
    already_pending: bool
    sent: bool
    old: FiguresOut
    run: RunOut


class CancelRequest(BaseModel):
    reason: str = "cancelled by the organizers"


class DecisionRequest(BaseModel):
    """An organizer's review decision; a rejection needs a reason (the team reads it)."""

    reason: str = ""


class QueueOut(BaseModel):
    name: str
    waiting: int | None


class WorkerOut(BaseModel):
    """A worker seen lately: by its runs' heartbeats and finishes, or by answering a ping."""

    name: str
    last_seen: datetime | None
    answered_ping: bool
    running_run: int | None


class BaselineJobOut(BaseModel):
    """A baseline measurement not yet finished (``srchallenge baseline measure``)."""

    id: int
    phase: str
    status: BaselineStatus
    worker: str | None
    queued_at: datetime
    started_at: datetime | None
    stage: str | None = None


class StatusOut(BaseModel):
    broker: str
    broker_error: str | None
    database_error: str | None = None
    queues: list[QueueOut]
    in_flight: int | None
    """Delivered to a worker that is alive (answers the broker) and not yet acknowledged."""
    held_by_gone_workers: int | None = None
    """Delivered to workers that no longer answer: Redis gives them out again after its visibility
    timeout, and the reaper re-queues their runs once the lease expires."""
    workers: list[WorkerOut]
    ping_available: bool
    running: list[RunOut]
    stuck: list[RunOut]
    queued_too_long: list[RunOut]
    baseline_measurements: list[BaselineJobOut] = []
    lease_seconds: int
    requeue_after_seconds: int


class AdminPhaseOut(PhaseOut):
    """A phase as its organizers see it: the public fields, its limits, and why it is not open now."""

    baseline_runtime_note: str | None
    dataset_version: str | None
    max_submissions_per_day: int | None
    max_submissions_total: int | None
    failed_submissions_count: bool
    state: str
    """"open", "open, 3 days left", or why it takes no submission now (the team reads the same)."""

    @classmethod
    def of(cls, phase: Phase) -> "AdminPhaseOut":
        window = phase_window(phase)
        state = (f"open, {duration(window.time_left)} left" if window.time_left is not None
                 else "open" if window.open else window.reason)
        return cls(**PhaseOut.of(phase).model_dump(), baseline_runtime_note=phase.baseline_runtime_note,
                   dataset_version=phase.dataset_version, max_submissions_per_day=phase.max_submissions_per_day,
                   max_submissions_total=phase.max_submissions_total,
                   failed_submissions_count=phase.failed_submissions_count, state=state)


class BaselineVersionOut(BaseModel):
    """One version of a phase's baseline figures, or one measurement and how it ended."""

    version: int
    source: str
    status: BaselineStatus
    actor: str
    at: datetime
    psnr: float | None
    psnr_note: str | None
    params: int | None
    runtime: float | None
    runtime_device: str | None
    runtime_note: str | None
    worker: str | None
    reason: str | None
    stage: str | None = None
    """Where a running measurement is, as its worker reports it (services/progress.py)."""

    @classmethod
    def of(cls, record: BaselineRecord) -> "BaselineVersionOut":
        fields = {name: getattr(record, name) for name in (
            "source", "status", "actor", "psnr", "psnr_note", "params", "runtime", "runtime_device", "runtime_note",
            "worker", "reason")}
        fields["stage"] = record.stage if record.status == BaselineStatus.RUNNING else None
        return cls(version=record.id, at=record.finished_at or record.created_at, **fields)


class BaselineSetRequest(BaseModel):
    """Some of a phase's baseline figures; those left out stay (``srchallenge baseline set``)."""

    psnr: float | None = Field(default=None, description="the baseline's PSNR (dB) on this phase's images")
    psnr_not_measured: str | None = Field(default=None, description="no true PSNR for these images is known: "
                                                                    "show it as not measured, with this reason")
    params: int | None = Field(default=None, description="the baseline's parameter count")
    runtime: float | None = Field(default=None, description="the baseline's runtime, seconds per image")
    device: str | None = Field(default=None, description="the device `runtime` was taken on, e.g. 'NVIDIA H200'")
    force: bool = Field(default=False, description="accept a `device` of another class than the phase's")

    def baseline_args(self) -> dict:
        """The keywords of ``services/baseline.py::set_baseline``."""
        return {"psnr": self.psnr, "psnr_not_measured": self.psnr_not_measured, "params": self.params,
                "runtime": self.runtime, "runtime_device": self.device, "force": self.force}


class BaselineMeasureRequest(BaseModel):
    force: bool = Field(default=False, description="record the figure even from a worker of another device "
                                                   "class than the phase's (a CPU worker for a GPU phase)")


class BaselineRevertRequest(BaseModel):
    to: int | None = Field(default=None, description="the version to restore (default: the one before the current)")


class ScheduleRequest(BaseModel):
    """A phase's dates (ISO 8601 with a zone). A field left out stays as it is; ``null`` removes the date."""

    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None

    def schedule_args(self) -> dict:
        """The keywords of ``services/schedule.py::set_schedule``: a date given as null is removed."""
        given = self.model_fields_set
        if not given:
            raise ServiceError("give opens_at and/or closes_at (ISO 8601 with a zone; null removes a date)")
        return {"opens_at": self.opens_at, "closes_at": self.closes_at,
                "clear_opens": "opens_at" in given and self.opens_at is None,
                "clear_closes": "closes_at" in given and self.closes_at is None}


class BundleUpdateOut(BaseModel):
    """What applying an edited bundle changed (with ``dry_run``: would change); [] when nothing."""

    competition: str
    dry_run: bool
    changes: list[str]


AUDIT_MAX_EVENTS = 10_000
"""The most events one answer of ``GET /api/v1/admin/audit`` (and ``srchallenge audit --limit``) holds."""


class AuditEventOut(BaseModel):
    """One audited change: who (``organizer:NAME`` over the API, ``cli:LOGIN`` on the server), what, when."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    summary: str
    details: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent) -> "AuditEventOut":
        return cls(id=event.id, at=event.at, actor=event.actor, action=event.action, target=event.target,
                   summary=event.summary, details=event.details)
