"""Scoring a 100-image 2K results zip: milliseconds per image, against two references in the same run.

* floor: decoding each SR PNG (bytes already in memory) into a numpy array with Pillow. Every
  scorer has to do at least this, so it bounds what one process can reach.
* reference scorer: the obvious script (read each member, decode SR and HR PNGs with Pillow,
  PSNR in float64 over the shaved image), as a challenge's first scoring program is written.
* project scorer: ``scoring.results.score_results_zip`` (one process; HR from ``.npy`` memory
  maps, integer PSNR), and ``worker.parallel.score_results_zip_parallel`` on every core.

What bounds the figures is the decode: Pillow undoes PNG row filters one byte at a time, and smooth
images such as SR outputs are Paeth-filtered throughout. When ``pyspng`` (libspng, SIMD
unfiltering) is installed (``pip install pyspng``; not a project dependency) a what-if runs the
same read + PSNR path with the SR PNG decoded by it instead, to show what a faster decoder buys.

The project scorer also runs in a child process that first applies the allocator settings that the
parallel scorer's workers and every Celery worker process apply to themselves
(``worker.parallel.keep_freed_memory``): without them every image faults in ~8,000 fresh pages.
That is the one-process figure of the product.

Every candidate runs ``--repeats`` times, interleaved (floor, reference, project, parallel, then
again), and the fastest run of each is reported: on a shared machine noise only ever adds time.
Both scorers' per-image PSNRs are checked against the reference's before any time is reported.
"""

import argparse
import importlib.util
import io
import math
import multiprocessing
import os
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from bench.data import COMPETITION, DIV2K_SIZE, QUICK_SIZE, ResultsSet, results_set
from bench.report import Row, add_common_options, best, interleaved, print_header, print_table, progress, spread
from scoring.archive import ArchiveLimits, open_results_zip, read_member_limited
from scoring.psnr import psnr
from scoring.results import score_results_zip
from worker.parallel import score_results_zip_parallel

FLOOR_RATIO_GOAL = 1.25
AS_BUNDLED = {"scale": COMPETITION.scale, "shave": COMPETITION.shave_border}
TUNED_CHILD = """
import sys, time
from scoring.results import score_results_zip
from worker.parallel import keep_freed_memory
keep_freed_memory()
start = time.perf_counter()
score_results_zip(sys.argv[1], sys.argv[2], scale=int(sys.argv[3]), shave=int(sys.argv[4]))
print(time.perf_counter() - start)
"""
PARALLEL_SPEEDUP_GOAL = 5.0


def decode_floor(data: ResultsSet) -> float:
    """Seconds spent decoding the SR PNGs alone (reading their bytes is not counted)."""
    seconds = 0.0
    for key in data.keys:
        png = (data.root / "sr_png" / f"{key}.png").read_bytes()
        start = time.perf_counter()
        with Image.open(io.BytesIO(png)) as image:
            np.asarray(image)
        seconds += time.perf_counter() - start
    return seconds


def reference_scores(zip_path: Path, hr_png: Path, shave: int) -> dict[str, float]:
    """Per-image PSNR the straightforward way: Pillow for both images, float64 arithmetic (also the
    reference of bench/end_to_end.py)."""
    scores = {}
    with zipfile.ZipFile(zip_path) as zf:
        for name in sorted(zf.namelist()):
            sr = np.asarray(Image.open(io.BytesIO(zf.read(name))).convert("RGB")).astype(np.float64)
            hr = np.asarray(Image.open(hr_png / name).convert("RGB")).astype(np.float64)
            crop = (slice(shave, sr.shape[0] - shave), slice(shave, sr.shape[1] - shave))
            mse = np.mean((sr[crop] - hr[crop]) ** 2)
            scores[Path(name).stem] = 20 * math.log10(255.0 / math.sqrt(mse))
    return scores


def reference_scorer(data: ResultsSet) -> dict[str, float]:
    return reference_scores(data.results_zip, data.hr_png, COMPETITION.shave_border)


def pyspng_keys(zip_path: Path, hr_dir: Path, keys: list[str]) -> list[float]:
    """The project scorer's read and PSNR, with the SR PNG decoded by pyspng (what-if only: none of
    ``scoring.images``' checks)."""
    import pyspng

    limits = ArchiveLimits()
    scores = []
    with open_results_zip(zip_path, limits, COMPETITION.scale) as results:
        for key in keys:
            data = read_member_limited(results.zip, results.images[key], limits.max_member_bytes)
            hr = np.load(hr_dir / f"{key}.npy", mmap_mode="r", allow_pickle=False)
            scores.append(psnr(pyspng.load(data), hr, COMPETITION.shave_border).db)
    return scores


def pyspng_scorer(data: ResultsSet, pool: ProcessPoolExecutor | None, workers: int) -> list[float]:
    """On ``pool`` (kept between calls, as the project's parallel scorer keeps its own) or here."""
    if pool is None:
        return pyspng_keys(data.results_zip, data.hr_npy, data.keys)
    runs = [data.keys[i::workers * 4] for i in range(workers * 4)]
    return [db for run in pool.map(pyspng_keys, [data.results_zip] * len(runs), [data.hr_npy] * len(runs), runs)
            for db in run]


def tuned_child_seconds(data: ResultsSet) -> float:
    """Seconds the project scorer takes in a fresh process that keeps freed memory, as a worker
    process does (timed inside it)."""
    out = subprocess.run([sys.executable, "-c", TUNED_CHILD, str(data.results_zip), str(data.hr_npy),
                          str(COMPETITION.scale), str(COMPETITION.shave_border)],
                         capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def check_same_scores(data: ResultsSet, workers: int) -> None:
    reference = reference_scorer(data)
    for scorer in (score_results_zip(data.results_zip, data.hr_npy, **AS_BUNDLED),
                   score_results_zip_parallel(data.results_zip, data.hr_npy, workers=workers, **AS_BUNDLED)):
        for key, value in scorer.per_image.items():
            if abs(value.db - reference[key]) > 1e-9:
                raise AssertionError(f"{key}: {value.db} dB, the reference scorer says {reference[key]} dB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    count, size, repeats = (4, QUICK_SIZE, 1) if args.quick else (args.images, DIV2K_SIZE, args.repeats)
    print_header(f"Scoring a {count}-image results zip", args)
    progress("preparing data (cached under bench/out/data after the first run)")
    data = results_set(count, size)
    check_same_scores(data, args.workers)  # also warms the page cache and the forkserver
    progress(f"timing, {repeats} interleaved rounds")
    floor_runs: list[float] = []
    tuned_runs: list[float] = []
    candidates = {
        "floor": lambda: floor_runs.append(decode_floor(data)),
        "reference": lambda: reference_scorer(data),
        "project": lambda: score_results_zip(data.results_zip, data.hr_npy, **AS_BUNDLED),
        "parallel": lambda: score_results_zip_parallel(data.results_zip, data.hr_npy, workers=args.workers,
                                                       **AS_BUNDLED),
        "tuned": lambda: tuned_runs.append(tuned_child_seconds(data)),
    }
    whatif = importlib.util.find_spec("pyspng") is not None
    if whatif:
        pool = ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("forkserver"))
        candidates["pyspng"] = lambda: pyspng_scorer(data, None, 1)
        candidates["pyspng parallel"] = lambda: pyspng_scorer(data, pool, args.workers)
        pyspng_scorer(data, pool, args.workers)  # warm-up
    seconds = interleaved(candidates, repeats)
    per_image = {name: best(runs) / count * 1e3 for name, runs in seconds.items()}
    per_image["floor"] = best(floor_runs) / count * 1e3
    per_image["tuned"] = best(tuned_runs) / count * 1e3
    floor, reference = per_image["floor"], per_image["reference"]
    single, parallel = per_image["project"], per_image["parallel"]
    size_text = f"{size[1]}×{size[0]}"
    rows = [
        Row(f"floor: Pillow decode of one SR PNG ({size_text})", f"{floor:.1f} ms/image",
            f"spread {spread(floor_runs)}", "—", None),
        Row("reference scorer (Pillow SR + HR, float64 PSNR)", f"{reference:.1f} ms/image",
            f"spread {spread(seconds['reference'])}", "—", None),
        Row("project scorer, one process", f"{single:.1f} ms/image ({single / floor:.2f}× floor)",
            f"floor {floor:.1f} ms; {reference / single:.2f}× faster than the reference",
            f"≤ {FLOOR_RATIO_GOAL}× floor", single <= FLOOR_RATIO_GOAL * floor),
        Row("project scorer, one process, keeping freed memory (as in a worker)",
            f"{per_image['tuned']:.1f} ms/image ({per_image['tuned'] / floor:.2f}× floor)",
            f"floor {floor:.1f} ms", f"≤ {FLOOR_RATIO_GOAL}× floor", per_image["tuned"] <= FLOOR_RATIO_GOAL * floor),
        Row(f"project scorer, {args.workers} processes", f"{parallel:.1f} ms/image",
            f"{reference / parallel:.2f}× faster than the reference ({reference:.1f} ms)",
            f"≥ {PARALLEL_SPEEDUP_GOAL:g}× faster", reference / parallel >= PARALLEL_SPEEDUP_GOAL),
    ]
    if whatif:
        one, many = per_image["pyspng"], per_image["pyspng parallel"]
        rows += [
            Row("what-if: SR decoded by pyspng, one process", f"{one:.1f} ms/image ({one / floor:.2f}× floor)",
                f"{reference / one:.2f}× faster than the reference", f"≤ {FLOOR_RATIO_GOAL}× floor", None),
            Row(f"what-if: SR decoded by pyspng, {args.workers} processes", f"{many:.1f} ms/image",
                f"{reference / many:.2f}× faster than the reference", f"≥ {PARALLEL_SPEEDUP_GOAL:g}× faster", None),
        ]
    print_table(rows)


if __name__ == "__main__":
    main()
