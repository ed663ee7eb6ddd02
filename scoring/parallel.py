"""Scoring a results zip on several cores, with the figures and errors of ``score_results_zip``.

Decoding the PNGs is nearly all of the cost (a 2040×1356 PNG takes about 50 ms in Pillow, its
PSNR a few ms; see docs/benchmarks.md) and the images of a zip are independent, so the keys are
cut into short runs and scored by a pool of processes. Each process opens the zip itself and maps
the HR arrays it needs: a task is a list of keys and a result a list of ``ImagePSNR``, nothing big
is pickled.

Same contract as the serial scorer: the zip is checked in this process first (missing or
unexpected images fail before any image is decoded), ``on_image`` is called in key order, and of
several bad images the first in key order is the one reported. Memory grows with the number of
workers (one image each at a time), not with the number of images.

Processes come from a ``forkserver`` with this module preloaded: forking the caller (a Celery
worker with threads) could copy a lock held by another thread; spawning would import numpy and
Pillow again for every pool.
"""

import math
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path, PurePosixPath

import numpy as np

from scoring.archive import ArchiveLimits, open_results_zip, read_member_limited
from scoring.errors import SubmissionError
from scoring.images import decode_png
from scoring.psnr import SHAVE_BORDER, ImagePSNR, mean_psnr, psnr
from scoring.results import README_MAX_BYTES, ResultsScore

_LISTED = 10
_RUNS_PER_WORKER = 4
"""Runs of keys per worker: enough that one slow run does not leave the other cores idle."""

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload([__name__])


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown if len(names) <= _LISTED else f"{shown} and {len(names) - _LISTED} more"


def _check_zip(zip_path: Path, expected: list[str], limits: ArchiveLimits) -> str | None:
    """The checks ``score_results_zip`` makes before decoding; returns the readme text."""
    with open_results_zip(zip_path, limits) as results:
        missing = [f"{key}.png" for key in expected if key not in results.images]
        if missing:
            raise SubmissionError(f"Missing {len(missing)} of {len(expected)} images: {_listing(missing)}")
        wanted = set(expected)
        extra = [PurePosixPath(i.filename).name for k, i in results.images.items() if k not in wanted]
        if extra:
            raise SubmissionError(f"Images not part of this set ({len(extra)}): {_listing(extra)}")
        if results.readme is None:
            return None
        info = results.readme
        if info.file_size > README_MAX_BYTES:
            raise SubmissionError(f"readme.txt is {info.file_size:,} bytes; the limit is {README_MAX_BYTES:,}")
        data = read_member_limited(results.zip, info, README_MAX_BYTES)
        return data.decode("utf-8-sig", errors="replace")


def _score_keys(zip_path: Path, hr_dir: Path, keys: list[str], limits: ArchiveLimits,
                shave: int) -> list[tuple[str, ImagePSNR]]:
    """Score ``keys`` in order, one image in memory at a time; the first bad image raises."""
    scores = []
    with open_results_zip(zip_path, limits) as results:
        for key in keys:
            info = results.images[key]
            name = PurePosixPath(info.filename).name
            hr = np.load(hr_dir / f"{key}.npy", mmap_mode="r", allow_pickle=False)
            data = read_member_limited(results.zip, info, limits.max_member_bytes)
            sr = decode_png(data, name, (hr.shape[1], hr.shape[0]), max_pixels=limits.max_image_pixels)
            del data
            scores.append((key, psnr(sr, hr, shave, name=name)))
            del sr, hr
    return scores


def score_results_zip_parallel(
    zip_path: Path,
    hr_dir: Path,
    limits: ArchiveLimits = ArchiveLimits(),
    shave: int = SHAVE_BORDER,
    on_image: Callable[[str, int, int], None] | None = None,
    workers: int | None = None,
) -> ResultsScore:
    """``score_results_zip`` on ``workers`` processes (default: one per core)."""
    zip_path, hr_dir = Path(zip_path), Path(hr_dir)
    expected = sorted(p.stem for p in hr_dir.glob("*.npy"))
    if not expected:
        raise ValueError(f"no hidden HR images (*.npy) in {hr_dir}")
    readme_text = _check_zip(zip_path, expected, limits)

    workers = max(1, min(workers or os.cpu_count() or 1, len(expected)))
    run_length = math.ceil(len(expected) / (workers * _RUNS_PER_WORKER))
    runs = [expected[i : i + run_length] for i in range(0, len(expected), run_length)]
    per_image: dict[str, ImagePSNR] = {}

    def collect(scores: list[tuple[str, ImagePSNR]]) -> None:
        for key, score in scores:
            per_image[key] = score
            if on_image is not None:
                on_image(key, len(per_image), len(expected))

    if workers == 1:
        for run in runs:
            collect(_score_keys(zip_path, hr_dir, run, limits, shave))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=_CONTEXT) as pool:
            futures = [pool.submit(_score_keys, zip_path, hr_dir, run, limits, shave) for run in runs]
            try:
                for future in futures:
                    collect(future.result())
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    return ResultsScore(
        mean_psnr=mean_psnr(list(per_image.values())),
        per_image=per_image,
        capped_count=sum(s.capped for s in per_image.values()),
        readme_text=readme_text,
    )
