"""What a scoring run computes, by submission kind. Trusted code only: HR images are read here.

Each function returns an ``Outcome`` or raises ``SubmissionError`` with a reason for the team.
"""

from dataclasses import dataclass, field
from typing import Any

from scoring.archive import ArchiveLimits
from scoring.factsheet import parse_factsheet
from scoring.results import score_results_zip
from server.config import Settings
from server.models import Submission
from server.services.storage import Storage


@dataclass
class Outcome:
    figures: dict[str, Any]
    image_scores: dict[str, tuple[float, bool]]
    self_reported: dict[str, Any] = field(default_factory=dict)
    log: str = ""


def archive_limits(settings: Settings) -> ArchiveLimits:
    return ArchiveLimits(max_image_pixels=settings.max_image_pixels)


def evaluate_results_zip(settings: Settings, submission: Submission) -> Outcome:
    storage = Storage.from_settings(settings)
    phase = submission.phase
    score = score_results_zip(
        storage.upload_path(submission.public_id),
        storage.hr_dir(phase.competition.slug, phase.slug),
        archive_limits(settings),
        shave=phase.competition.shave_border,
    )
    figures = {"psnr": score.mean_psnr, "capped_images": score.capped_count, "images": len(score.per_image)}
    image_scores = {key: (value.db, value.capped) for key, value in score.per_image.items()}
    log = f"scored {len(image_scores)} images, mean PSNR {score.mean_psnr:.4f} dB"
    if score.capped_count:
        log += f"; {score.capped_count} (near-)identical to the HR image (PSNR capped at 100 dB)"
    self_reported = self_reported_from_readme(score.readme_text, phase.competition.baseline_name)
    return Outcome(figures, image_scores, self_reported, log)


def self_reported_from_readme(text: str | None, baseline_name: str = "MSRResNet") -> dict[str, Any]:
    """Self-reported figures from an NTIRE-style readme.txt; form fields, if sent, take precedence."""
    if text is None:
        return {}
    sheet = parse_factsheet(text, baseline_name)
    figures = {"self_params": sheet.params, "self_runtime": sheet.runtime,
               "self_runtime_baseline": sheet.runtime_baseline, "gpu": sheet.gpu, "extra_data": sheet.extra_data,
               "description": sheet.description or None}
    return {name: value for name, value in figures.items() if value is not None}
