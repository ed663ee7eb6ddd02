"""The competition bundle: one YAML file describing a competition (the Codalab convention).

Validated with pydantic so an organizer's typo is an error that names the field, not a crash later.
Track rules and tolerances are the ranking's own types (scoring/ranking.py): one schema, so a
bundle that loads is a bundle the leaderboard can rank.
"""

from pathlib import Path
from typing import Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from scoring.baselines import BaselineName
from scoring.bounds import MAX_MACS, MAX_MEMORY_BYTES, MAX_PARAMS
from scoring.ranking import Tolerances, TrackRule
from scoring.review import ReviewLimits
from scoring.timing import TRIALS
from server.services.errors import ServiceError


class BundleError(ServiceError):
    """The bundle file is not a valid competition description."""


class Strict(BaseModel):
    """Every part of the bundle: a misspelt key is an error naming it, not a silent default."""

    model_config = ConfigDict(extra="forbid")


class BaselineSpec(Strict):
    """The baseline model (one the platform ships, ``scoring.baselines``) at the bundle's scale, and
    its figures that do not depend on the device: parameters, and where a track weighs or bounds
    them, MACs ("FLOPs"), activations and peak memory as the organizers published them."""

    name: BaselineName
    scale: int | None = Field(default=None, ge=2, le=8)
    params: int = Field(gt=0, le=MAX_PARAMS)
    macs: int | None = Field(default=None, gt=0, le=MAX_MACS)
    activations: int | None = Field(default=None, gt=0, le=MAX_MACS)
    peak_memory_bytes: int | None = Field(default=None, gt=0, le=MAX_MEMORY_BYTES)


class TimingSpec(Strict):
    """How a runtime is made from timed trials: the best of K (AIM 2019) or the mean of N (NTIRE 2024+)."""

    protocol: Literal["best_of", "mean_of"] = "best_of"
    runs: int = Field(default=TRIALS, ge=1, le=20)


class DisplaySpec(Strict):
    """How the board prints figures: runtimes in seconds (AIM 2019's tables) or milliseconds (NTIRE's)."""

    runtime_unit: Literal["s", "ms"] = "s"


class PhaseSpec(Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str
    ranking_figures: Literal["self_reported", "measured"] = "measured"
    per_image_scores_visible: bool = True
    baseline_psnr: float | None = None
    baseline_runtime: float | None = Field(default=None, gt=0)
    # a fixed fidelity gate of every track (NTIRE 2024: 26.90 dB valid, 26.99 dB test), apart from the baseline's PSNR
    psnr_threshold: float | None = Field(default=None, gt=0, lt=100)
    max_submissions_per_day: int | None = Field(default=None, gt=0)
    max_submissions_total: int | None = Field(default=None, gt=0)
    failed_submissions_count: bool = True
    # when the phase takes submissions (ISO 8601 with a zone, e.g. 2019-08-01T00:00:00Z); absent: any time
    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _closes_after_opening(self) -> "PhaseSpec":
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError(f"phase {self.slug}: closes_at must be after opens_at")
        return self


class CompetitionBundle(Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str
    description: str = ""
    scale: int = Field(default=4, ge=2, le=8)
    shave_border: int = Field(default=4, ge=0)
    baseline: BaselineSpec
    phases: list[PhaseSpec] = Field(min_length=1)
    tracks: list[TrackRule] = Field(min_length=1)
    tolerances: Tolerances = Tolerances()
    review: ReviewLimits = ReviewLimits()
    # the phase whose LR images code re-runs are timed on (the report: validation, in every phase)
    runtime_phase: str | None = None
    # whether the baseline row takes a rank (AIM 2019's tables rank it; NTIRE's list it as the reference)
    baseline_ranked: bool = True
    timing: TimingSpec = TimingSpec()
    display: DisplaySpec = DisplaySpec()

    @model_validator(mode="after")
    def _baseline_fits(self) -> "CompetitionBundle":
        if self.baseline.scale is not None and self.baseline.scale != self.scale:
            raise ValueError(f"baseline.scale {self.baseline.scale} is not the competition's scale {self.scale}: "
                             "the baseline is timed at the bundle's scale")
        given = {"macs": self.baseline.macs, "activations": self.baseline.activations,
                 "memory": self.baseline.peak_memory_bytes}
        for track in self.tracks:
            lacking = [f for f in (*track.bounds, *track.weights) if f in given and given[f] is None]
            if lacking:
                key = {"memory": "peak_memory_bytes"}
                raise ValueError(f"track {track.slug} compares {', '.join(lacking)} with the baseline's: give "
                                 f"baseline.{', baseline.'.join(key.get(f, f) for f in lacking)}")
        return self


def load_bundle(path: Path) -> CompetitionBundle:
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as err:
        raise BundleError(f"cannot read {path}: {err}") from err
    try:
        return CompetitionBundle.model_validate(raw)
    except ValidationError as err:
        raise BundleError(f"{path} is not a valid competition bundle:\n{err}") from err


def shipped_bundle_path() -> Path:
    """The AIM 2019 bundle shipped in competitions/ (repository checkout or installed tree)."""
    return Path(__file__).resolve().parent.parent / "competitions" / "aim2019-constrained-sr.yaml"
