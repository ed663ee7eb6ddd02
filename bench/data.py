"""Deterministic bench data, generated once and cached under bench/out/ (gitignored, never committed).

Images are photo-like (``bench.stack.photo_like``: smooth colour plus grain, so they compress and
decode like photographs, unlike noise or flat colour) at DIV2K validation size, 2040×1356, from a
RNG seeded by the image index: image ``0801`` is the same on every machine and in every run.

A "result" image stands in for a team's SR output: the HR image averaged with its neighbours to
the right and below, about 29 dB from it, smoother than the HR image as SR outputs are. PNGs are
written with Pillow's default zlib level (6) and zipped with deflate, as ``zip -r`` does.
"""

import os
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bench.stack import BUNDLE, photo_like
from server.bundle import load_bundle

REPO = Path(__file__).resolve().parents[1]
OUT = Path(os.environ.get("SRCHALLENGE_BENCH_OUT", REPO / "bench" / "out"))
"""Cache and scratch space; the smoke test points it at a temporary folder."""
DIV2K_SIZE = (1356, 2040)
"""Height, width of DIV2K validation image 0801 (the report's test set is the same size)."""
QUICK_SIZE = (96, 128)
COMPETITION = load_bundle(BUNDLE)
"""The shipped AIM 2019 bundle: results zips are scored with its scale and border, as a worker scores them."""
PNG_LEVEL = 6


@dataclass(frozen=True)
class ResultsSet:
    """``count`` images: HR as PNG (what organizers import) and as ``.npy`` (the private store), and a
    results zip of SR-like PNGs, one per HR key."""

    root: Path
    count: int

    @property
    def hr_png(self) -> Path:
        return self.root / "hr_png"

    @property
    def hr_npy(self) -> Path:
        return self.root / "hr_npy"

    @property
    def results_zip(self) -> Path:
        return self.root / "results.zip"

    @property
    def keys(self) -> list[str]:
        return [key_of(i) for i in range(self.count)]


def key_of(index: int) -> str:
    return f"{801 + index:04d}"


def hr_image(index: int, size: tuple[int, int] = DIV2K_SIZE) -> np.ndarray:
    return photo_like(np.random.default_rng([2019, index]), *size)


def sr_like(hr: np.ndarray) -> np.ndarray:
    wide = hr.astype(np.uint16)
    return ((2 * wide + np.roll(wide, 1, axis=0) + np.roll(wide, 1, axis=1)) // 4).astype(np.uint8)


def _write_one(root: Path, index: int, size: tuple[int, int]) -> None:
    key, hr = key_of(index), hr_image(index, size)
    Image.fromarray(hr).save(root / "hr_png" / f"{key}.png", compress_level=PNG_LEVEL)
    np.save(root / "hr_npy" / f"{key}.npy", hr)
    Image.fromarray(sr_like(hr)).save(root / "sr_png" / f"{key}.png", compress_level=PNG_LEVEL)


def results_set(count: int, size: tuple[int, int] = DIV2K_SIZE) -> ResultsSet:
    """The cached set of ``count`` images of ``size`` (height, width), made on first use."""
    root = OUT / "data" / f"{count}x{size[1]}x{size[0]}"
    done = root / "complete"
    if not done.exists():
        for folder in ("hr_png", "hr_npy", "sr_png"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
            list(pool.map(_write_one, [root] * count, range(count), [size] * count))
        with zipfile.ZipFile(root / "results.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for i in range(count):
                zf.write(root / "sr_png" / f"{key_of(i)}.png", f"{key_of(i)}.png")
        done.touch()
    return ResultsSet(root, count)
