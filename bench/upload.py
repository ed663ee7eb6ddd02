"""Upload of a large zip to the API: throughput on loopback, and how much the server's memory grows.

Why: a results zip of 100 2K PNGs is about 500 MB. The API parses the multipart body as it
arrives and writes the file part straight to disk (server/services/uploads.py), so its memory must
not follow the size of the upload, and the upload should be limited by the network, not by the
parser. The zip is made of stored members of seeded random bytes (upload speed does not depend on
what is inside) and sent by httpx streaming from the file, as ``srchallenge submit`` does.

Memory is read from /proc/<server pid>/status: VmRSS before the upload, VmRSS after, and VmHWM (the
peak) after. The reference for throughput is copying the same file on the same disk in this process,
the most a server that writes every byte could do without the network and the parser.
"""

import argparse
import shutil
import time
import zipfile
from pathlib import Path

import httpx
import numpy as np

from bench.data import OUT, QUICK_SIZE, results_set
from bench.procfs import status_kib
from bench.report import Row, add_common_options, print_header, print_table, progress
from bench.server import api_server, database, import_dataset, seed_competition

MB = 1_000_000
RSS_GROWTH_GOAL_MB = 50
THROUGHPUT_GOAL_MB_S = 200
_MEMBER_BYTES = 8 * MB


def large_zip(total_bytes: int) -> Path:
    """A cached zip of stored members of seeded random bytes, ``total_bytes`` in all (about)."""
    path = OUT / "upload" / f"upload-{total_bytes // MB}MB.zip"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(2019)
        partial = path.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as zf:
            for i in range(max(1, total_bytes // _MEMBER_BYTES)):
                zf.writestr(f"{801 + i:04d}.png", rng.bytes(min(_MEMBER_BYTES, total_bytes)))
        partial.rename(path)
    return path


def upload_seconds(base: str, token: str, path: Path) -> float:
    with open(path, "rb") as body, httpx.Client(base_url=base, timeout=600) as client:
        start = time.perf_counter()
        response = client.post("/api/v1/phases/aim2019/validation/submissions",
                               headers={"Authorization": f"Bearer {token}"},
                               files={"file": ("submission.zip", body, "application/zip")}, data={"kind": "results"})
        seconds = time.perf_counter() - start
    if response.status_code != 202:
        raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
    return seconds


def copy_seconds(path: Path, dest: Path) -> float:
    start = time.perf_counter()
    shutil.copyfile(path, dest)
    seconds = time.perf_counter() - start
    dest.unlink()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser)
    parser.add_argument("--megabytes", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3, help="uploads; the fastest one is reported")
    args = parser.parse_args()
    size_mb, repeats = (8, 1) if args.quick else (args.megabytes, args.repeats)
    print_header("Upload of a large zip", args)
    path = large_zip(size_mb * MB)
    size = path.stat().st_size
    data_dir = OUT / "upload" / "server"
    shutil.rmtree(data_dir, ignore_errors=True)
    with database("sqlite", data_dir) as url:
        token = seed_competition(url)
        import_dataset(url, data_dir, results_set(2, QUICK_SIZE).hr_png)
        with api_server(url, data_dir, max_upload_bytes=str(2 * size)) as (base, pid):
            upload_seconds(base, token, large_zip(8 * MB))  # warm-up: first-request imports
            rss_before = status_kib(pid, "VmRSS")
            uploads, copies = [], []
            for i in range(repeats):
                progress(f"upload {i + 1} of {repeats}, {size / MB:.0f} MB")
                uploads.append(upload_seconds(base, token, path))
                copies.append(copy_seconds(path, data_dir / "copy.zip"))
            rss_after, hwm_after = status_kib(pid, "VmRSS"), status_kib(pid, "VmHWM")
    upload_rate, copy_rate = size / MB / min(uploads), size / MB / min(copies)
    growth, peak_growth = (rss_after - rss_before) / 1024, (hwm_after - rss_before) / 1024
    print_table([
        Row(f"upload of a {size / MB:.0f} MB zip over loopback (best of {repeats})", f"{upload_rate:.0f} MB/s",
            f"copying the file: {copy_rate:.0f} MB/s ({upload_rate / copy_rate:.2f}×)",
            f"≥ {THROUGHPUT_GOAL_MB_S} MB/s", upload_rate >= THROUGHPUT_GOAL_MB_S),
        Row("server RSS growth after the uploads", f"{growth:+.1f} MiB",
            f"RSS before: {rss_before / 1024:.0f} MiB", f"< {RSS_GROWTH_GOAL_MB} MB", growth < RSS_GROWTH_GOAL_MB),
        Row("server peak RSS (VmHWM) above RSS before", f"{peak_growth:+.1f} MiB", f"file: {size / 2**20:.0f} MiB",
            f"< {RSS_GROWTH_GOAL_MB} MB", peak_growth < RSS_GROWTH_GOAL_MB),
    ])


if __name__ == "__main__":
    main()
