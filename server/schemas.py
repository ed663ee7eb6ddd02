"""Request and response models of the API, apart from the database models."""

from datetime import datetime
from typing import Any

from scoring.shown import rule_columns
from pydantic import BaseModel
from sqlalchemy.orm import object_session

from scoring.shown import ranking_notice
from server.models import Phase, Status, Submission, Track
from server.services.datasets import version_numbers
from server.services.fair_share import Place
from server.services.leaderboard import scored_on_older_set
from server.services.schedule import phase_window


class TrackOut(BaseModel):
    slug: str
    title: str
    kind: str = "bounded"
    rank_by: str | None
    rule_columns: dict[str, str] = {}
    """Heading of each of the rule's columns (a row's ``rule`` has their values)."""

    @classmethod
    def of(cls, track: Track, **more) -> "TrackOut":
        """``more``: the fields a subclass adds (a leaderboard's rows)."""
        return cls(slug=track.slug, title=track.title, kind=track.kind, rank_by=track.rank_by,
                   rule_columns=rule_columns(track.rule), **more)


class PhaseOut(BaseModel):
    competition: str
    slug: str
    title: str
    is_open: bool
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    image_count: int
    ranking_figures: str
    baseline_psnr: float | None
    baseline_psnr_note: str | None = None
    baseline_params: int
    baseline_runtime: float | None
    baseline_runtime_device: str | None = None
    psnr_threshold: float | None = None
    """A fixed PSNR every track gates on (dB), apart from the baseline's own PSNR."""
    tracks: list[TrackOut]

    @classmethod
    def of(cls, phase: Phase) -> "PhaseOut":
        return cls(
            competition=phase.competition.slug, slug=phase.slug, title=phase.title, is_open=phase_window(phase).open,
            opens_at=phase.opens_at, closes_at=phase.closes_at,
            image_count=phase.image_count, ranking_figures=phase.ranking_figures,
            baseline_psnr=phase.baseline_psnr, baseline_psnr_note=phase.baseline_psnr_note,
            baseline_params=phase.baseline_params, baseline_runtime=phase.baseline_runtime,
            baseline_runtime_device=phase.baseline_runtime_device, psnr_threshold=phase.psnr_threshold,
            tracks=[TrackOut.of(t) for t in phase.tracks],
        )


class CompetitionOut(BaseModel):
    slug: str
    title: str
    description: str
    baseline_name: str
    baseline_params: int
    phases: list[PhaseOut]


class SubmissionAccepted(BaseModel):
    id: str
    status: str
    kind: str
    url: str
    notice: str | None = None
    """Set when the submission cannot be ranked as uploaded (``scoring/shown.py::ranking_notice``)."""


class ImageScoreOut(BaseModel):
    image: str
    psnr: float
    capped: bool


MEASUREMENT_FIGURES = ("macs_input", "products", "environment", "data_range", "export",
                       "runtime_measurement", "runtime_protocol", "baseline_measurement",
                       "baseline_not_timed")
"""What a code re-run measured beyond the headline figures, shown to the team as to the organizers."""


class SubmissionOut(BaseModel):
    """A submission as its team sees it. ``stored``: the numbers a re-run model carries besides
    its parameters (buffers, constants, literals, by kind); ``review``: ``held`` (unranked until an
    organizer decides), ``approved`` or ``rejected``, with ``review_note`` saying why. ``macs``:
    multiply-accumulates for one ``measurement["macs_input"]`` input (what efficient-SR tables call
    FLOPs), ``measurement["products"]`` the other multiplications of tensors there, by operator
    (elementwise products, norms: worker/sandbox/macs.py); ``self_uses_gpu``: the readme's ``CPU[1] / GPU[0]`` flag the right way up."""

    id: str
    phase: str
    team: str
    kind: str
    status: str
    reason: str | None
    created_at: datetime
    finished_at: datetime | None
    filename: str
    file_size: int
    tracks: list[str]
    psnr: float | None
    params: int | None
    runtime: float | None
    runtime_baseline: float | None
    runtime_ratio: float | None
    macs: int | None
    peak_memory_bytes: int | None
    device: str | None
    measurement: dict | None
    self_params: int | None
    self_runtime: float | None
    self_runtime_baseline: float | None
    gpu: str | None
    self_uses_gpu: bool | None
    extra_data: bool | None
    description: str | None
    per_image: list[ImageScoreOut] | None
    log: str
    stored: dict[str, Any] | None = None
    review: str | None = None
    review_note: str | None = None
    notice: str | None = None
    """Set when the submission cannot be ranked as uploaded (``scoring/shown.py::ranking_notice``)."""
    stale: str | None = None
    """Set when its figures were scored on an older version of the phase's hidden set, until a rescore."""
    rescore_failed: str | None = None
    """The reason its latest run (a rescore) failed, while the figures of an earlier run stand."""
    stage: str | None = None
    """While its run is running: where it is, as the worker reports it ("scoring image 12 of 100")."""
    queue_position: int | None = None
    estimated_start: datetime | None = None
    """While queued: its place in its queue's line (1: next) and when it should start
    (server/services/fair_share.py); None once it runs, or without a finished run to go by. Not in
    the upload's 202: reading the line there made a burst's uploads wait for the pool a third time,
    past a client's timeout (tests/e2e/test_load.py)."""

    @classmethod
    def of(cls, submission: Submission, place: Place | None = None) -> "SubmissionOut":
        current = next((r for r in submission.runs if r.id == submission.current_run_id), None)
        latest = submission.runs[-1] if submission.runs else None
        per_image = None
        if current is not None and submission.phase.per_image_scores_visible:
            per_image = [ImageScoreOut(image=s.image_key, psnr=s.psnr, capped=s.capped) for s in current.image_scores]
        fields = {name: getattr(submission, name) for name in (
            "kind", "status", "reason", "created_at", "finished_at", "filename", "file_size", "tracks", "psnr",
            "params", "runtime", "runtime_baseline", "runtime_ratio", "macs", "peak_memory_bytes", "device", "self_params", "self_runtime", "self_runtime_baseline", "gpu", "self_uses_gpu", "extra_data",
            "description")}
        measurement = None
        if current is not None and submission.kind == "code":
            measurement = {name: current.figures[name] for name in MEASUREMENT_FIGURES if name in current.figures}
        return cls(id=submission.public_id, phase=submission.phase.path, team=submission.team.name,
                   per_image=per_image, log=(latest.log if latest else ""), measurement=measurement,
                   stored=(current.figures or {}).get("stored") if current else None,
                   review=submission.review, review_note=submission.review_note,
                   notice=ranking_notice(submission.kind, submission.phase.ranking_figures),
                   stale=_stale(submission) if current is not None else None,
                   stage=latest.stage if latest is not None and latest.status == Status.RUNNING else None,
                   rescore_failed=(latest.reason if current is not None and latest is not current
                                   and latest.status == Status.FAILED else None),
                   queue_position=place and place.position, estimated_start=place and place.estimated_start, **fields)


def _stale(submission: Submission) -> str | None:
    phase = submission.phase
    if submission.dataset_version in (None, phase.dataset_version):
        return None
    return scored_on_older_set(submission.dataset_version, phase, version_numbers(object_session(submission), phase))
