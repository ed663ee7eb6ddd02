"""Peak memory of scoring a results zip, for 10 and 100 2K images, one process and all cores.

Why: a worker scores zips of any size next to other jobs; its memory must stay flat in the number
of images (each is read, decoded, scored and dropped before the next, HR pages are mapped, not
loaded). Each case runs in a fresh interpreter that imports only the scorer. One process (with the
allocator settings of a worker process, ``keep_freed_memory``, which keep up to 256 MB of freed
heap for reuse): its VmHWM, the exact peak of its resident memory. All cores: the process tree (the caller, the
parallel scorer's forkserver and its workers) sampled every 5 ms; the sum of PSS (each shared page
divided among the processes sharing it: what the tree really holds) and, as an upper bound, the
sum of RSS (numpy and Pillow pages counted once per process).

Reference in the same run: the same interpreter with the scorer imported, having scored nothing.
The goal is absolute: < 300 MB whatever the number of images.
"""

import argparse
import subprocess
import sys
import threading
import time

from bench.data import COMPETITION, DIV2K_SIZE, QUICK_SIZE, results_set
from bench.procfs import tree_memory_kib
from bench.report import Row, add_common_options, print_header, print_table, progress

GOAL_MB = 300
SAMPLE_S = 0.005
CHILD = """
import os, sys
from pathlib import Path
from scoring.results import score_results_zip
from worker.parallel import keep_freed_memory, score_results_zip_parallel
mode, root = sys.argv[1], Path(sys.argv[2])
bundled = {"scale": int(sys.argv[3]), "shave": int(sys.argv[4])}
if mode == "one process":  # as in a worker process, which keeps freed memory for the next image
    keep_freed_memory()
    score_results_zip(root / "results.zip", root / "hr_npy", **bundled)
elif mode == "all cores":
    score_results_zip_parallel(root / "results.zip", root / "hr_npy", workers=os.cpu_count(), **bundled)
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def peaks_kib(mode: str, root: str) -> tuple[int, int, int]:
    """(own VmHWM, peak tree RSS, peak tree PSS) in KiB of one scoring in a fresh interpreter."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, mode, root, str(COMPETITION.scale),
                             str(COMPETITION.shave_border)], stdout=subprocess.PIPE, text=True)
    rss = pss = 0

    def sample() -> None:
        nonlocal rss, pss
        while proc.poll() is None:
            now_rss, now_pss = tree_memory_kib(proc.pid)
            rss, pss = max(rss, now_rss), max(pss, now_pss)
            time.sleep(SAMPLE_S)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, _ = proc.communicate()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"scoring ({mode}) in {root} failed with exit code {proc.returncode}")
    return int(out.split()[-1]), rss, pss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser)
    args = parser.parse_args()
    counts, size = ((2, 4), QUICK_SIZE) if args.quick else ((10, 100), DIV2K_SIZE)
    print_header("Peak memory of the scorer", args)
    rows = []
    for count in counts:
        data = results_set(count, size)
        progress(f"{count} images")
        idle, _, _ = peaks_kib("imports only", str(data.root))
        own, _, _ = peaks_kib("one process", str(data.root))
        _, rss, pss = peaks_kib("all cores", str(data.root))
        what = f"{count} × {size[1]}×{size[0]}"
        rows += [
            Row(f"scorer peak memory, one process, {what}", f"{own / 1024:.0f} MiB (VmHWM)",
                f"imports only: {idle / 1024:.0f} MiB", f"< {GOAL_MB} MB", own * 1024 < GOAL_MB * 1_000_000),
            Row(f"scorer peak memory, all cores, {what}", f"{pss / 1024:.0f} MiB (PSS; RSS sum {rss / 1024:.0f} MiB)",
                f"imports only: {idle / 1024:.0f} MiB", f"< {GOAL_MB} MB", pss * 1024 < GOAL_MB * 1_000_000),
        ]
    print_table(rows)


if __name__ == "__main__":
    main()
