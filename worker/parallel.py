"""Scoring a results zip on several cores, with the figures and errors of ``score_results_zip``.

Decoding the PNGs is nearly all of the cost (a PNG's decode takes several times its PSNR: the
figures are in docs/benchmarks.md) and the images of a zip are independent, so the keys are
cut into short runs and scored by a pool of processes. Each process opens the zip itself and maps
the HR arrays it needs: a task is a list of keys and a result a list of ``ImagePSNR``, nothing big
is pickled.

Same contract as the serial scorer: the zip is checked in this process first (missing or
unexpected images fail before any image is decoded), ``on_image`` is called in key order, and of
several bad images the first in key order is the one reported. Memory grows with the number of
workers (one image each at a time), not with the number of images.

The pool is made on first use and kept for the life of the process: a new one costs as much as
scoring several images (the forkserver imports numpy and Pillow, then every worker imports the
caller's main module, e.g. ``server.cli`` in a Celery worker). Its processes
come from a ``forkserver`` with this module preloaded, because forking the caller itself (a Celery
worker with a lease thread) could copy a lock held by another thread. Each worker keeps the
memory it frees for the next image (``keep_freed_memory``, which a Celery worker process also
applies to itself for the zips it scores alone). If a worker dies (killed
for memory, a crash in a decoder), the call raises ``BrokenProcessPool`` and the next call makes a
new pool; the zip is not retried, so a file that crashes the decoder does not get a second go.
"""

import ctypes
import ctypes.util
import math
import multiprocessing
import os
import threading
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import chain
from pathlib import Path

from PIL import Image

from scoring.archive import ArchiveLimits, open_results_zip
from scoring.psnr import SHAVE_BORDER, ImagePSNR
from scoring.results import ResultsScore, check_members, collect_scores, hidden_keys, score_images
from worker.parent_death import FORKSERVER_PARENT_ENV

_RUNS_PER_WORKER = 4
"""Runs of keys per worker: enough that one slow run does not leave the other cores idle."""

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
"""mallopt(3) parameters (glibc's malloc.h)."""
_MMAP_THRESHOLD = 32 * 1024 * 1024
"""Buffers below this come from the heap, and are reused (32 MiB is the most glibc accepts)."""
_TRIM_THRESHOLD = 256 * 1024 * 1024
_PILLOW_BLOCKS_KEPT = 4

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["worker.forkserver_dies_with_parent", __name__])
_pool: ProcessPoolExecutor | None = None
_pool_workers = 0
_pool_lock = threading.Lock()


def keep_freed_memory() -> None:
    """Keep freed buffers for the next image instead of handing them back to the OS (called by each
    pool process, and by each Celery worker process at start).

    An image allocates its zip member, Pillow's image and the array in buffers of several MB. By
    default glibc maps each one fresh and unmaps it when freed, and Pillow frees its blocks, so every
    image faults in thousands of new pages: a measurable share of its scoring time (the figures are
    in docs/benchmarks.md). Raising
    malloc's mmap and trim thresholds and letting Pillow keep a few blocks reuses the same memory.
    Where the C library has no ``mallopt`` (not glibc), only Pillow's part applies.
    """
    Image.core.set_blocks_max(_PILLOW_BLOCKS_KEPT)
    mallopt = getattr(ctypes.CDLL(ctypes.util.find_library("c")), "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)


def _shared_pool(workers: int) -> ProcessPoolExecutor:
    global _pool, _pool_workers
    with _pool_lock:
        if _pool is None or _pool_workers != workers:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            os.environ[FORKSERVER_PARENT_ENV] = str(os.getpid())  # read by the forkserver this may start
            _pool = ProcessPoolExecutor(max_workers=workers, mp_context=_CONTEXT, initializer=keep_freed_memory)
            _pool_workers = workers
        return _pool


def shutdown_pool() -> None:
    """Stop the pool's processes and release its semaphores (a worker process calls this as it
    exits; otherwise the resource tracker reports them leaked). The forkserver then exits with it."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _discard_pool(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def _check_zip(zip_path: Path, expected: list[str], limits: ArchiveLimits, scale: int,
               retired: Collection[str]) -> str | None:
    """The checks ``score_results_zip`` makes before decoding; returns the readme text."""
    with open_results_zip(zip_path, limits, scale) as results:
        return check_members(results, expected, retired)


def _score_keys(zip_path: Path, hr_dir: Path, keys: list[str], limits: ArchiveLimits,
                shave: int, scale: int) -> list[tuple[str, ImagePSNR]]:
    """One pool task: ``keys`` scored in order by the serial scorer's loop."""
    with open_results_zip(zip_path, limits, scale) as results:
        return list(score_images(results, hr_dir, keys, limits, shave))


def _scored_runs(zip_path: Path, hr_dir: Path, runs: list[list[str]], limits: ArchiveLimits, shave: int,
                 scale: int, workers: int) -> Iterator[list[tuple[str, ImagePSNR]]]:
    """Each run's scores, in order: here for one worker, else on the shared pool. The first error
    cancels the runs not yet started."""
    if workers == 1:
        for run in runs:
            yield _score_keys(zip_path, hr_dir, run, limits, shave, scale)
        return
    pool = _shared_pool(workers)
    futures = [pool.submit(_score_keys, zip_path, hr_dir, run, limits, shave, scale) for run in runs]
    try:
        for future in futures:
            yield future.result()
    except BrokenProcessPool:
        _discard_pool(pool)
        raise
    finally:
        for future in futures:
            future.cancel()


def score_results_zip_parallel(
    zip_path: Path,
    hr_dir: Path,
    limits: ArchiveLimits = ArchiveLimits(),
    shave: int = SHAVE_BORDER,
    on_image: Callable[[str, int, int], None] | None = None,
    workers: int | None = None,
    *,
    scale: int,
    retired: Collection[str] = (),
) -> ResultsScore:
    """``score_results_zip`` on ``workers`` processes (default: one per core); ``retired`` images
    of an earlier hidden set are ignored (``check_members``)."""
    zip_path, hr_dir = Path(zip_path), Path(hr_dir)
    expected = hidden_keys(hr_dir)
    readme_text = _check_zip(zip_path, expected, limits, scale, retired)

    workers = 1 if len(expected) == 1 else workers or os.cpu_count() or 1
    run_length = math.ceil(len(expected) / (workers * _RUNS_PER_WORKER))
    runs = [expected[i : i + run_length] for i in range(0, len(expected), run_length)]
    scored = chain.from_iterable(_scored_runs(zip_path, hr_dir, runs, limits, shave, scale, workers))
    return collect_scores(scored, len(expected), readme_text, on_image)
