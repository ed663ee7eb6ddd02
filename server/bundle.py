"""The competition bundle: one YAML file describing a competition (the Codalab convention).

Validated with pydantic so an organizer's typo is an error that names the field, not a crash later.
"""

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from server.services.errors import ServiceError

Figure = Literal["psnr", "params", "runtime"]


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


class TrackSpec(BaseModel):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    title: str
    rank_by: Figure
    tie_break: list[Figure] = []


class Tolerances(BaseModel):
    psnr_db: float = Field(default=0.0, ge=0)
    runtime_ratio: float = Field(default=1.0, ge=1.0)
    params: int = Field(default=0, ge=0)


class CompetitionBundle(BaseModel):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str
    description: str = ""
    scale: int = Field(default=4, ge=2, le=8)
    shave_border: int = Field(default=4, ge=0)
    baseline: BaselineSpec
    phases: list[PhaseSpec] = Field(min_length=1)
    tracks: list[TrackSpec] = Field(min_length=1)
    tolerances: Tolerances = Tolerances()
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
