"""Database tables (SQLAlchemy 2 typed models). The schema itself is created by migrations/.

The database is the source of truth for every scoring attempt: a ``ScoringRun`` row is written
before a job is queued, and the queue only wakes workers.
"""

from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint,
                        TypeDecorator, false, true)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from scoring.ranking import TrackRule


class Status(StrEnum):
    """Where a submission or one of its scoring runs stands; the values are the stored strings.

    A submission goes submitted → running → scored | failed | cancelled; each of its runs goes
    queued → running → scored | failed | cancelled.
    """

    SUBMITTED = "submitted"  # a submission whose run has not started
    QUEUED = "queued"  # a run waiting for a worker
    RUNNING = "running"
    SCORED = "scored"
    FAILED = "failed"
    CANCELLED = "cancelled"


SUBMISSION_STATUSES = (Status.SUBMITTED, Status.RUNNING, Status.SCORED, Status.FAILED, Status.CANCELLED)
SUBMISSION_PENDING = (Status.SUBMITTED, Status.RUNNING)
RUN_PENDING = (Status.QUEUED, Status.RUNNING)
FINISHED = (Status.SCORED, Status.FAILED, Status.CANCELLED)


class BaselineStatus(StrEnum):
    """Where a baseline record stands (``BaselineRecord.status``); the values are the stored strings.

    A version of the figures is ``done``; a measurement goes queued → running → done | refused (a
    worker of another device class) | failed.
    """

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"


BASELINE_PENDING = (BaselineStatus.QUEUED, BaselineStatus.RUNNING)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timestamps are written in UTC; SQLite hands them back without their zone, so restore it
    (otherwise the API would emit naive date-times that break its own OpenAPI schema)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, datetime: UTCDateTime}


class Competition(Base):
    __tablename__ = "competitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    scale: Mapped[int] = mapped_column(Integer, default=4)
    shave_border: Mapped[int] = mapped_column(Integer, default=4)
    baseline_name: Mapped[str] = mapped_column(String(100))
    baseline_params: Mapped[int] = mapped_column(BigInteger)
    # the baseline's scale (the competition's) and its device-free figures the bundle gives
    baseline_scale: Mapped[int | None] = mapped_column(Integer)
    baseline_macs: Mapped[int | None] = mapped_column(BigInteger)
    baseline_activations: Mapped[int | None] = mapped_column(BigInteger)
    baseline_peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    baseline_ranked: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    tolerances: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # the bundle's timing protocol ({"protocol": "best_of" | "mean_of", "runs": n}) and display ({"runtime_unit"})
    timing: Mapped[dict[str, Any]] = mapped_column(default=dict)
    display: Mapped[dict[str, Any]] = mapped_column(default=dict)
    bundle: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    phases: Mapped[list["Phase"]] = relationship(back_populates="competition", order_by="Phase.id")


class Phase(Base):
    __tablename__ = "phases"
    __table_args__ = (UniqueConstraint("competition_id", "slug"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    ranking_figures: Mapped[str] = mapped_column(String(20), default="measured")
    per_image_scores_visible: Mapped[bool] = mapped_column(Boolean, default=True)
    # The baseline's figures on this phase's images; BaselineRecord keeps every earlier value.
    baseline_psnr: Mapped[float | None] = mapped_column(Float)
    # Why baseline_psnr is missing or where it comes from (e.g. "not measured on these images: …").
    baseline_psnr_note: Mapped[str | None] = mapped_column(Text)
    baseline_params: Mapped[int] = mapped_column(BigInteger)
    baseline_runtime: Mapped[float | None] = mapped_column(Float)
    # How baseline_runtime was measured (trials, spread, device), when a worker measured it.
    baseline_runtime_note: Mapped[str | None] = mapped_column(Text)
    # a fixed PSNR every track of the phase gates on, apart from the baseline's own PSNR
    psnr_threshold: Mapped[float | None] = mapped_column(Float)
    # The device class ("gpu" | "cpu") this phase's runtimes are comparable on, and the device
    # the current baseline runtime was taken on (None: the bundle's figure, device not recorded).
    runtime_device_class: Mapped[str] = mapped_column(String(8), default="gpu", server_default="gpu")
    baseline_runtime_device: Mapped[str | None] = mapped_column(String(200))
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    # The phase takes submissions from opens_at until closes_at (either may be absent), while is_open.
    opens_at: Mapped[datetime | None] = mapped_column()
    closes_at: Mapped[datetime | None] = mapped_column()
    max_submissions_per_day: Mapped[int | None] = mapped_column(Integer)
    max_submissions_total: Mapped[int | None] = mapped_column(Integer)
    # Codalab's "failed submissions count" switch; platform failures never count.
    failed_submissions_count: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    image_count: Mapped[int] = mapped_column(Integer, default=0)
    dataset_version: Mapped[str | None] = mapped_column(String(64))
    competition: Mapped[Competition] = relationship(back_populates="phases")
    tracks: Mapped[list["Track"]] = relationship(back_populates="phase", order_by="Track.position")

    @property
    def path(self) -> str:
        return f"{self.competition.slug}/{self.slug}"


class Track(Base):
    __tablename__ = "tracks"
    __table_args__ = (UniqueConstraint("phase_id", "slug"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="bounded", server_default="bounded")
    rank_by: Mapped[str | None] = mapped_column(String(32))
    tie_break: Mapped[list[str]] = mapped_column(default=list)
    bounded: Mapped[list[str]] = mapped_column(default=list)
    figures: Mapped[list[str]] = mapped_column(default=list)
    weights: Mapped[dict[str, Any]] = mapped_column(default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    phase: Mapped[Phase] = relationship(back_populates="tracks")

    @property
    def rule(self) -> TrackRule:
        return TrackRule(slug=self.slug, title=self.title, rank_by=self.rank_by, tie_break=tuple(self.tie_break),
                         kind=self.kind, bounded=tuple(self.bounded or ()), figures=tuple(self.figures or ()),
                         weights=dict(self.weights or {}))

    @classmethod
    def of_rule(cls, rule: TrackRule, position: int) -> "Track":
        return cls(position=position, **rule_columns(rule))


RULE_COLUMNS = ("title", "kind", "rank_by", "tie_break", "bounded", "figures", "weights")
"""The Track columns a bundle's track rule sets (``rule_columns``)."""


def rule_columns(rule: TrackRule) -> dict[str, Any]:
    """A track rule as Track column values (the slug and ``RULE_COLUMNS``)."""
    return {"slug": rule.slug, "title": rule.title, "kind": rule.kind, "rank_by": rule.rank_by,
            "tie_break": list(rule.tie_break), "bounded": list(rule.bounded), "figures": list(rule.figures),
            "weights": dict(rule.weights)}


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Submission(Base):
    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "results" | "code"
    status: Mapped[str] = mapped_column(String(16), default=Status.SUBMITTED, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    filename: Mapped[str] = mapped_column(String(255))
    file_size: Mapped[int] = mapped_column(BigInteger)
    file_sha256: Mapped[str] = mapped_column(String(64))
    tracks: Mapped[list[str]] = mapped_column(default=list)
    # Figures of the run that currently stands (copied from it when it completes).
    psnr: Mapped[float | None] = mapped_column(Float)
    params: Mapped[int | None] = mapped_column(BigInteger)
    runtime: Mapped[float | None] = mapped_column(Float)
    runtime_baseline: Mapped[float | None] = mapped_column(Float)
    runtime_ratio: Mapped[float | None] = mapped_column(Float)
    # numbers a re-run model carries besides parameters: in buffers and constant tensors, and
    # written into its graph (the run's "stored" figure has them by kind)
    stored_numbers: Mapped[int | None] = mapped_column(BigInteger)
    literals: Mapped[int | None] = mapped_column(BigInteger)
    macs: Mapped[int | None] = mapped_column(BigInteger)  # multiply-accumulates for a 1×3×256×256 input
    activations: Mapped[int | None] = mapped_column(BigInteger)  # elements of every conv output at that input
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    device: Mapped[str | None] = mapped_column(String(200))  # where the figures were measured
    # What the team says about its own entry (form fields or readme.txt).
    self_params: Mapped[int | None] = mapped_column(BigInteger)
    self_runtime: Mapped[float | None] = mapped_column(Float)
    self_runtime_baseline: Mapped[float | None] = mapped_column(Float)
    gpu: Mapped[str | None] = mapped_column(String(100))
    self_uses_gpu: Mapped[bool | None] = mapped_column(Boolean)  # readme's "CPU[1] / GPU[0]", the right way up
    extra_data: Mapped[bool | None] = mapped_column(Boolean)
    description: Mapped[str | None] = mapped_column(Text)
    current_run_id: Mapped[int | None] = mapped_column(Integer)
    # the hidden set's version (Phase.dataset_version) the current run scored against
    dataset_version: Mapped[str | None] = mapped_column(String(64))
    # set when the platform, not the team, made it fail: it gives the quota slot back
    platform_failure: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # organizer review of numbers stored outside parameters (scoring/review.py): None when not
    # needed, else "held" | "approved" | "rejected", with why it was held or the organizer's reason
    review: Mapped[str | None] = mapped_column(String(16))
    review_note: Mapped[str | None] = mapped_column(Text)
    phase: Mapped[Phase] = relationship()
    team: Mapped[Team] = relationship()
    runs: Mapped[list["ScoringRun"]] = relationship(back_populates="submission", order_by="ScoringRun.attempt")
    reviews: Mapped[list["ReviewDecision"]] = relationship(order_by="ReviewDecision.id")


class ScoringRun(Base):
    """One scoring attempt of a submission: kept forever, so every figure has a history."""

    __tablename__ = "scoring_runs"
    __table_args__ = (UniqueConstraint("submission_id", "attempt"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=Status.QUEUED, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(100), default="upload")
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    worker: Mapped[str | None] = mapped_column(String(200))
    code_version: Mapped[str | None] = mapped_column(String(64))
    dataset_version: Mapped[str | None] = mapped_column(String(64))
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    # Deliveries this run outlived (their worker died or stalled): worker, started_at, last heartbeat,
    # so a re-delivery's own worker and start time never erase the lost one's.
    earlier_deliveries: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # what the team sees (its code's capped output); the platform's traceback of a failure is
    # apart, for the organizers only
    log: Mapped[str] = mapped_column(Text, default="")
    traceback: Mapped[str | None] = mapped_column(Text)
    # where a running job is ("scoring image 12 of 100"), written by the worker (services/progress.py)
    stage: Mapped[str | None] = mapped_column(String(200))
    submission: Mapped[Submission] = relationship(back_populates="runs")
    image_scores: Mapped[list["ImageScore"]] = relationship(back_populates="run", order_by="ImageScore.image_key")


class ImageScore(Base):
    __tablename__ = "image_scores"
    __table_args__ = (UniqueConstraint("run_id", "image_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("scoring_runs.id", ondelete="CASCADE"), index=True)
    image_key: Mapped[str] = mapped_column(String(100))
    psnr: Mapped[float] = mapped_column(Float)
    capped: Mapped[bool] = mapped_column(Boolean, default=False)
    run: Mapped[ScoringRun] = relationship(back_populates="image_scores")


class ReviewDecision(Base):
    """One step of a submission's review: held by the platform, approved or rejected by an organizer."""

    __tablename__ = "review_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(String(16))  # "held" | "approved" | "rejected"
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(100))  # "platform" or "organizer:NAME"
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrackEntry(Base):
    """A team's choice of which submission stands on a track (otherwise: its latest scored one)."""

    __tablename__ = "track_entries"
    __table_args__ = (UniqueConstraint("team_id", "track_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))


class Organizer(Base):
    """A person who runs the challenge. Its API token (prefix ``sro_``) is stored hashed, like a
    team's, and is never accepted where a team token is expected, nor the reverse."""

    __tablename__ = "organizers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class BaselineRecord(Base):
    """One version of a phase's baseline figures, or a measurement of them under way.

    Every change (from the bundle, ``baseline set``, a measurement, going back) appends a row, so
    the figures a board was ranked against are never lost and any earlier version can be restored.
    ``status`` (a ``BaselineStatus``) is done for a version of the figures; a measurement ends done,
    refused or failed, with ``reason``.
    """

    __tablename__ = "baseline_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # "bundle" | "set" | "measure" | "revert"
    status: Mapped[str] = mapped_column(String(16), default=BaselineStatus.DONE)
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    worker: Mapped[str | None] = mapped_column(String(200))
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    # the phase's figures once this record applied (a "done" record is a complete snapshot)
    psnr: Mapped[float | None] = mapped_column(Float)
    psnr_note: Mapped[str | None] = mapped_column(Text)
    params: Mapped[int | None] = mapped_column(BigInteger)
    runtime: Mapped[float | None] = mapped_column(Float)
    runtime_note: Mapped[str | None] = mapped_column(Text)
    runtime_device: Mapped[str | None] = mapped_column(String(200))
    stage: Mapped[str | None] = mapped_column(String(200))  # of a running measurement (services/progress.py)
    phase: Mapped[Phase] = relationship()


class AuditEvent(Base):
    """Who changed what a board is ranked against, and when: baselines, bundles, data, schedules."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str] = mapped_column(String(200), index=True)
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DatasetVersion(Base):
    """One import of a phase's hidden set: its images' digests and what changed from the one before,
    so figures scored on an older set can be told apart and rescored."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("phase_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))  # what Phase.dataset_version holds while it is current
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    images: Mapped[dict[str, Any]] = mapped_column(default=dict)  # image key → sha256 of its HR pixels
    added: Mapped[list[str]] = mapped_column(default=list)
    removed: Mapped[list[str]] = mapped_column(default=list)
    replaced: Mapped[list[str]] = mapped_column(default=list)
