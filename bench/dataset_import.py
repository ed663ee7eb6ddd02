"""Dataset import: 100 2K HR PNGs → private ``.npy`` store + MATLAB-bicubic LR PNGs + inputs zip.

Why: organizers import a hidden set once per phase (and again if it changes), through
``server.services.datasets.import_hr_images``, which decodes each HR image, stores it as ``.npy``,
hashes it, makes its ×4 LR input with ``scoring.imresize`` (exact MATLAB bicubic, written in numpy)
and writes the LR PNG, on a process pool, then zips the LR set.

Reference in the same run: Pillow's own bicubic downscale of the same images on the same number of
processes (decode, resize, save the LR PNG), what the import would cost with a C resize that is
not MATLAB-exact. The goal is absolute: 100 2K images in under 2 minutes on 2 cores. A per-step
breakdown of one process over the first images shows what the time goes to.
"""

import argparse
import hashlib
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy.orm import Session

from bench.data import DIV2K_SIZE, OUT, QUICK_SIZE, results_set
from bench.report import Row, add_common_options, print_header, print_table, progress
from bench.server import database, seed_competition
from scoring.images import decode_png
from scoring.imresize import SCALE, crop_to_multiple, imresize
from server.db import make_engine
from server.services.competitions import get_phase_by_path
from server.services.datasets import HR_IMPORT_MAX_PIXELS, import_hr_images
from server.services.storage import Storage

GOAL_SECONDS = 120.0


def pillow_lr(src: Path, dest: Path) -> None:
    with Image.open(src) as image:
        small = image.resize((image.width // SCALE, image.height // SCALE), Image.Resampling.BICUBIC)
    small.save(dest, compress_level=6)


def pillow_seconds(sources: list[Path], dest: Path, workers: int) -> float:
    dest.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(pillow_lr, sources, [dest / p.name for p in sources]))
    return time.perf_counter() - start


def import_seconds(source: Path, data_dir: Path, workers: int) -> float:
    with database("sqlite", data_dir) as url:
        seed_competition(url)
        engine = make_engine(url)
        with Session(engine) as session:
            phase = get_phase_by_path(session, "aim2019/validation")
            start = time.perf_counter()
            import_hr_images(Storage(data_dir), phase, source, workers=workers)
            seconds = time.perf_counter() - start
            session.commit()
        engine.dispose()
    return seconds


def step_breakdown(sources: list[Path], scratch: Path) -> dict[str, float]:
    """Mean milliseconds per image of each import step, in this process."""
    steps = dict.fromkeys(["decode PNG", "save .npy", "sha256", "MATLAB imresize", "encode LR PNG"], 0.0)
    scratch.mkdir(parents=True, exist_ok=True)
    for src in sources:
        marks = [time.perf_counter()]
        hr = crop_to_multiple(decode_png(src, src.name, max_pixels=HR_IMPORT_MAX_PIXELS), SCALE)
        marks.append(time.perf_counter())
        np.save(scratch / "hr.npy", np.ascontiguousarray(hr))
        marks.append(time.perf_counter())
        hashlib.sha256(hr.tobytes()).hexdigest()
        marks.append(time.perf_counter())
        lr = imresize(hr, 1 / SCALE)
        marks.append(time.perf_counter())
        Image.fromarray(lr).save(scratch / "lr.png", compress_level=6)
        marks.append(time.perf_counter())
        for name, a, b in zip(steps, marks, marks[1:]):
            steps[name] += (b - a) * 1e3 / len(sources)
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    count, size = (4, QUICK_SIZE) if args.quick else (args.images, DIV2K_SIZE)
    print_header(f"Importing {count} HR images", args)
    data = results_set(count, size)
    sources = sorted(data.hr_png.glob("*.png"))
    scratch = OUT / "import"
    shutil.rmtree(scratch, ignore_errors=True)
    progress(f"Pillow reference, {args.workers} processes")
    reference = pillow_seconds(sources, scratch / "pillow", args.workers)
    progress(f"import_hr_images, {args.workers} processes")
    seconds = import_seconds(data.hr_png, scratch / "server", args.workers)
    progress("per-step breakdown, one process")
    steps = step_breakdown(sources[:min(5, count)], scratch / "steps")
    shutil.rmtree(scratch, ignore_errors=True)
    what = f"{count} × {size[1]}×{size[0]}, {args.workers} processes"
    rows = [Row(f"import_hr_images ({what})", f"{seconds:.1f} s ({seconds / count * 1e3:.0f} ms/image)",
                f"Pillow bicubic: {reference:.1f} s ({seconds / reference:.1f}× slower)",
                f"< {GOAL_SECONDS:g} s for 100 images", seconds * 100 / count < GOAL_SECONDS)]
    total = sum(steps.values())
    rows += [Row(f"step, one process: {name}", f"{ms:.0f} ms/image", f"{ms / total:.0%} of the steps", "—", None)
             for name, ms in steps.items()]
    print_table(rows)


if __name__ == "__main__":
    main()
