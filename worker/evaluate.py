"""What a scoring run computes, by submission kind. Trusted code only: HR images are read here.

Each function returns an ``Outcome`` or raises ``SubmissionError`` with a reason for the team.
"""

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import object_session

from scoring.archive import ArchiveLimits, extract_safely
from scoring.baselines import not_timed_in_job
from scoring.bounds import MAX_GPU_NAME
from scoring.errors import SubmissionError
from scoring.factsheet import parse_factsheet
from scoring.naming import lr_name
from scoring.timing import runtime_figure
from server.config import Settings
from server.models import Phase, Submission
from server.services.datasets import hr_keys, retired_keys
from server.services.progress import StageReport
from server.services.storage import Storage
from worker.parallel import score_results_zip_parallel


def _quiet(_stage: str) -> None:
    """No one to tell (a bench, a test)."""


@dataclass
class Outcome:
    figures: dict[str, Any]
    image_scores: dict[str, tuple[float, bool]]
    self_reported: dict[str, Any] = field(default_factory=dict)
    log: str = ""


def archive_limits(settings: Settings) -> ArchiveLimits:
    return ArchiveLimits(max_image_pixels=settings.max_image_pixels)


def evaluate_results_zip(settings: Settings, submission: Submission, on_stage: StageReport = _quiet) -> Outcome:
    storage = Storage.from_settings(settings)
    phase = submission.phase
    on_stage("checking the zip")
    score = score_results_zip_parallel(
        storage.upload_path(submission.public_id),
        storage.hr_dir(phase.competition.slug, phase.slug),
        archive_limits(settings),
        shave=phase.competition.shave_border,
        workers=settings.scoring_processes or None,
        scale=phase.competition.scale,
        retired=retired_keys(object_session(submission), phase),
        on_image=lambda _key, index, total: on_stage(f"scoring image {index} of {total}"),
    )
    figures = {"psnr": score.mean_psnr, "capped_images": score.capped_count, "images": len(score.per_image)}
    image_scores = {key: (value.db, value.capped) for key, value in score.per_image.items()}
    log = f"scored {len(image_scores)} images, mean PSNR {score.mean_psnr:.4f} dB"
    if score.capped_count:
        log += f"; {score.capped_count} (near-)identical to the HR image (PSNR capped at 100 dB)"
    self_reported = self_reported_from_readme(score.readme_text, phase.competition.baseline_name)
    return Outcome(figures, image_scores, self_reported, log)


def runtime_image_set(storage: Storage, phase: Phase) -> tuple[Path, list[str]]:
    """The LR images timed for a code re-run: the bundle's ``runtime_phase`` (the report times on
    the validation LR images, also in the test phase), else the phase's own."""
    runtime_slug = phase.competition.bundle.get("runtime_phase") or phase.slug
    runtime_phase = next((p for p in phase.competition.phases if p.slug == runtime_slug), phase)
    return storage.lr_dir(phase.competition.slug, runtime_phase.slug), hr_keys(storage, runtime_phase)


def stage_lr_inputs(storage: Storage, phase: Phase, dest: Path) -> tuple[list[str], list[str]]:
    """One folder with the scoring inputs and, prefixed ``rt-`` so names never clash, the timed ones."""
    dest.mkdir(parents=True)
    scale = phase.competition.scale
    scoring_keys = hr_keys(storage, phase)
    for key in scoring_keys:
        shutil.copyfile(storage.lr_dir(phase.competition.slug, phase.slug) / lr_name(key, scale),
                        dest / lr_name(key, scale))
    runtime_dir, runtime_source_keys = runtime_image_set(storage, phase)
    runtime_keys = [f"rt-{key}" for key in runtime_source_keys]
    for key in runtime_source_keys:
        shutil.copyfile(runtime_dir / lr_name(key, scale), dest / lr_name(f"rt-{key}", scale))
    return scoring_keys, runtime_keys


def evaluate_code(settings: Settings, submission: Submission, on_stage: StageReport = _quiet) -> Outcome:
    """Re-run a code submission in the sandbox: parameters, runtime (the bundle's timing protocol
    over the runner's trials, recorded as ``runtime_protocol``) against the baseline timed in the
    same job, and PSNR of the model's own outputs."""
    from worker.code_eval import MACS_INPUT, evaluate_code_submission

    storage = Storage.from_settings(settings)
    phase = submission.phase
    work = storage.work_dir(submission.public_id)
    shutil.rmtree(work, ignore_errors=True)
    try:
        code_dir = work / "code"
        on_stage("unpacking the zip")
        extract_safely(storage.upload_path(submission.public_id), code_dir, archive_limits(settings))
        if not (code_dir / "model.py").is_file():
            raise SubmissionError("the zip has no model.py at its top (or inside its one folder)")
        scoring_keys, runtime_keys = stage_lr_inputs(storage, phase, work / "lr")
        gpu = job_gpu(settings)
        result = evaluate_code_submission(
            code_dir, work / "lr", storage.hr_dir(phase.competition.slug, phase.slug), runtime_keys, scoring_keys,
            sandbox_limits(settings, gpu), work / "run", hidden=hidden_paths(settings), gpu=gpu,
            scale=phase.competition.scale, shave=phase.competition.shave_border,
            baseline=baseline_job(phase.competition), timing=phase.competition.timing or None,
            on_stage=on_stage)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    runtime, protocol = runtime_figure(result.runtime, (phase.competition.timing or {}).get("protocol", "best_of"))
    figures = {
        "psnr": result.psnr, "params": result.params, "runtime": runtime, "runtime_protocol": protocol,
        "runtime_baseline": result.baseline_runtime.best, "runtime_ratio": result.runtime_ratio,
        "stored": result.stored, "macs": result.macs, "macs_input": MACS_INPUT,
        "peak_memory_bytes": result.peak_memory_bytes,
        "runtime_measurement": result.runtime.to_dict(), "baseline_measurement": result.baseline_runtime.to_dict(),
        "environment": result.environment, "file_hashes": result.file_hashes, "data_range": result.data_range,
        "export": result.export, "images": len(result.image_psnr),
    }
    keep_comparable_baseline(figures, phase.competition)
    image_scores = {key: (value.db, value.capped) for key, value in result.image_psnr.items()}
    self_reported = {}
    if result.metadata.get("description") is not None:
        self_reported["description"] = str(result.metadata["description"])[:2000]
    if isinstance(result.metadata.get("extra_data"), bool):
        self_reported["extra_data"] = result.metadata["extra_data"]
    return Outcome(figures, image_scores, self_reported, result.log)


def baseline_job(competition) -> dict:
    """The measuring job's baseline: the bundle's model at the bundle's scale."""
    return {"name": competition.baseline_name, "scale": competition.baseline_scale or competition.scale}


def keep_comparable_baseline(figures: dict, competition) -> None:
    """Drop the same-job baseline figures where the sandbox did not time the bundle's baseline at its
    scale (``not_timed_in_job``): the ranking then compares the runtime with the phase's baseline runtime."""
    job = baseline_job(competition)
    why = not_timed_in_job(job["name"], job["scale"])
    if why:
        figures.update(runtime_ratio=None, runtime_baseline=None, baseline_measurement=None, baseline_not_timed=why)


def sandbox_limits(settings: Settings, gpu=None):
    """The ``SRCHALLENGE_SANDBOX_*`` limits, with the thread count of a CPU or a GPU job."""
    from worker.sandbox.launcher import SandboxLimits

    return SandboxLimits.from_settings(settings, gpu=gpu is not None)


def job_gpu(settings: Settings):
    """The GPU this worker's code re-runs are timed on, or None for CPU jobs.

    ``sandbox_device``: ``cuda`` requires the worker's assigned GPU (its absence is the platform's
    failure, never a silent CPU run); ``auto`` takes it when the NVIDIA driver shows a GPU; ``cpu``
    never does."""
    from worker.sandbox.gpu import assigned_gpu, driver_gpus

    if not times_on_gpu(settings):
        return None
    return assigned_gpu(os.environ.get("CUDA_VISIBLE_DEVICES"), driver_gpus())


def times_on_gpu(settings: Settings) -> bool:
    """Whether this worker's code re-runs (and baseline measurements) are timed on a GPU."""
    from worker.sandbox.gpu import driver_gpus

    if settings.sandbox_device == "auto":
        return bool(driver_gpus())
    return settings.sandbox_device == "cuda"


def hidden_paths(settings: Settings) -> tuple[Path, ...]:
    """What the sandbox must be unable to reach; the launcher refuses to run if it could."""
    storage = Storage.from_settings(settings)
    url = settings.sqlalchemy_url
    database = (Path(url.removeprefix("sqlite:///")),) if url.startswith("sqlite:///") else ()
    return (storage.root / "private", storage.root / "uploads", *database)


def self_reported_from_readme(text: str | None, baseline_name: str = "MSRResNet") -> dict[str, Any]:
    """Self-reported figures from an NTIRE-style readme.txt; form fields, if sent, take precedence."""
    if text is None:
        return {}
    sheet = parse_factsheet(text, baseline_name)
    figures = {"self_params": sheet.params, "self_runtime": sheet.runtime,
               "self_runtime_baseline": sheet.runtime_baseline, "gpu": sheet.gpu and sheet.gpu[:MAX_GPU_NAME],
               "self_uses_gpu": sheet.uses_gpu,
               "extra_data": sheet.extra_data,
               "description": sheet.description or None}
    return {name: value for name, value in figures.items() if value is not None}
