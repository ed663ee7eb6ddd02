"""The competition bundle: one YAML file describing a competition (the Codalab convention).

Validated with pydantic so an organizer's typo is an error that names the field, not a crash later.
Track rules and tolerances are the ranking's own types (scoring/ranking.py): one schema, so a
bundle that loads is a bundle the leaderboard can rank.
"""

from pathlib import Path
from typing import Literal

import yaml
from pydantic import AwareDatetime, BaseModel, Field, ValidationError, model_validator

from scoring.ranking import Tolerances, TrackRule
from scoring.review import ReviewLimits
from server.services.errors import ServiceError


class BundleError(ServiceError):
    """The bundle file is not a valid competition description."""


class BaselineSpec(BaseModel):
    name: str
    params: int = Field(gt=0)


class PhaseSpec(BaseModel):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str
    ranking_figures: Literal["self_reported", "measured"] = "measured"
    per_image_scores_visible: bool = True
    baseline_psnr: float | None = None
    baseline_runtime: float | None = Field(default=None, gt=0)
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


class CompetitionBundle(BaseModel):
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
