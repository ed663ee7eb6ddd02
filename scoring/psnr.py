"""Border-cropped RGB PSNR, per image and mean — the one PSNR of the platform.

Convention (AIM 2019 report §2.3, as in BasicSR's ``calculate_psnr`` with ``crop_border``):
both images are uint8 RGB of the same size; ``shave`` pixels are dropped on every border;
the MSE is taken over all remaining H×W×3 values (no Y channel); PSNR = 20·log10(255/√MSE).
Identical images (MSE 0) would give +inf, so every figure is capped at ``PSNR_CAP_DB``.

Speed: the squared-error sum is exact integer arithmetic over row chunks (|a−b| in uint8,
its square in uint16, each chunk summed in uint32, which cannot overflow for chunks of at most
``_UINT32_SAFE_VALUES`` values, and the chunks' sums added as Python ints), so no float64 copy of
the image is ever made and the HR side may be a read-only memmap. A uint32 reduction is faster
than one into uint64; docs/benchmarks.md has the figures.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scoring.errors import SubmissionError

SHAVE_BORDER = 4
"""Pixels ignored on each border (report §2.3); the competition bundle's ``shave_border``."""

PSNR_CAP_DB = 100.0
"""Ceiling on a per-image PSNR, reached by identical images."""

_UINT32_SAFE_VALUES = (2**32 - 1) // 255**2
"""Squared uint8 differences that always fit in one uint32 sum (66,052)."""


@dataclass(frozen=True)
class ImagePSNR:
    """One image's PSNR in dB; ``capped`` when the true value is ≥ ``PSNR_CAP_DB`` (or infinite)."""

    db: float
    capped: bool


def psnr(sr: np.ndarray, hr: np.ndarray, shave: int = SHAVE_BORDER, name: str = "the image") -> ImagePSNR:
    """PSNR of the team's ``sr`` against the hidden ``hr``, both uint8 H×W×3.

    ``name`` (e.g. ``0803.png``) appears in the team-facing error when the sizes differ.
    """
    for label, img in (("sr", sr), ("hr", hr)):
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"{label} must be uint8 H×W×3, got {img.dtype} {img.shape}")
    if sr.shape != hr.shape:
        raise SubmissionError(
            f"{name} is {sr.shape[1]}×{sr.shape[0]}, expected {hr.shape[1]}×{hr.shape[0]}"
        )
    height, width = hr.shape[:2]
    if height <= 2 * shave or width <= 2 * shave:
        raise ValueError(f"a {width}×{height} image has no pixels left after a {shave}-pixel shave")

    rows = slice(shave, height - shave)
    cols = slice(shave, width - shave)
    sr_c, hr_c = np.asarray(sr)[rows, cols], np.asarray(hr)[rows, cols]
    values_per_row = sr_c.shape[1] * 3
    rows_per_chunk = max(_UINT32_SAFE_VALUES // values_per_row, 1)
    accumulator = np.uint32 if values_per_row <= _UINT32_SAFE_VALUES else np.uint64  # rows over 22,017 px
    squared_error = 0
    for start in range(0, sr_c.shape[0], rows_per_chunk):
        a = sr_c[start : start + rows_per_chunk]
        b = hr_c[start : start + rows_per_chunk]
        diff = np.maximum(a, b)
        diff -= np.minimum(a, b)
        squared_error += int(np.square(diff, dtype=np.uint16).sum(dtype=accumulator))

    if squared_error == 0:
        return ImagePSNR(db=PSNR_CAP_DB, capped=True)
    mse = squared_error / sr_c.size
    db = 20.0 * math.log10(255.0 / math.sqrt(mse))
    if db >= PSNR_CAP_DB:
        return ImagePSNR(db=PSNR_CAP_DB, capped=True)
    return ImagePSNR(db=db, capped=False)


def mean_psnr(scores: Sequence[ImagePSNR]) -> float:
    """Arithmetic mean of per-image PSNRs in dB (the report's "average PSNR")."""
    if not scores:
        raise ValueError("mean_psnr needs at least one image")
    return math.fsum(s.db for s in scores) / len(scores)
