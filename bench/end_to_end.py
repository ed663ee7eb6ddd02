"""End-to-end latency of a 10-image 2K results zip: from the upload's 202 to ``scored``, against the
scoring time itself.

Why: what a team waits for is upload + queue + scoring + bookkeeping; only the scoring is
inherent to the zip. The deployment is real (``bench.stack.start_stack``: redis, the API under
uvicorn, one Celery worker, nothing mocked). The bench uploads the zip and waits for ``scored``;
the latency is the submission's ``finished_at`` minus its ``created_at`` (both stamped by the
server, one clock: polling fast enough to time it from here would load the two cores the worker
needs). From it is subtracted the scoring time measured by running ``score_results_zip_parallel``
(what the worker runs, on every core) on the same zip and HR set in this process, with the stack
idle. The Celery task's own duration (the worker's "succeeded in" log line) is shown beside it.
The first submission after the API starts is timed apart: it pays for connecting the API process
to the broker and for starting the worker's scoring processes.
"""

import argparse
import re
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.data import COMPETITION, DIV2K_SIZE, QUICK_SIZE, sr_like
from bench.report import Row, add_common_options, best, print_header, print_table, progress
from bench.stack import png_bytes, start_stack, zip_bytes
from worker.parallel import score_results_zip_parallel

OVERHEAD_GOAL_S = 1.0
POLL_S = 0.25


def submit_and_time(stack, data: bytes) -> tuple[float, float]:
    """(seconds to upload until 202, seconds from the submission's record to its ``scored`` stamp)."""
    with stack.client() as client:
        start = time.perf_counter()
        response = client.post(f"/api/v1/phases/{stack.phase}/submissions",
                               files={"file": ("results.zip", data, "application/zip")})
        accepted = time.perf_counter()
        if response.status_code != 202:
            raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
        url = f"/api/v1/submissions/{response.json()['id']}"
        while (body := client.get(url).json())["status"] not in ("scored", "failed"):
            if time.perf_counter() - accepted > 300:
                raise RuntimeError("not scored after 300 s")
            time.sleep(POLL_S)
    if body["status"] != "scored":
        raise RuntimeError(f"the submission failed: {body}")
    waited = datetime.fromisoformat(body["finished_at"]) - datetime.fromisoformat(body["created_at"])
    return accepted - start, waited.total_seconds()


def task_seconds(log: Path) -> list[float]:
    return [float(s) for s in re.findall(r"succeeded in ([0-9.]+)s", log.read_text(errors="replace"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    count, size, repeats = (2, QUICK_SIZE, 1) if args.quick else (args.images, DIV2K_SIZE, args.repeats)
    print_header(f"End-to-end latency of a {count}-image results zip", args)
    with tempfile.TemporaryDirectory(prefix="srchallenge-bench-") as tmp:
        progress("starting redis, API and worker; importing the HR set")
        stack = start_stack(Path(tmp), image_count=count, size=size, settings={"MAX_UPLOAD_BYTES": str(1 << 30)})
        try:
            data = zip_bytes({f"{key}.png": png_bytes(sr_like(hr)) for key, hr in stack.hr.items()})
            zip_path = Path(tmp) / "results.zip"
            zip_path.write_bytes(data)
            hr_dir = stack.data_dir / "private" / "aim2019" / "validation" / "hr"
            progress("first submission after the start (connects the API to the broker)")
            _, cold = submit_and_time(stack, data)
            uploads, waits, scoring = [], [], []
            for i in range(repeats):
                progress(f"submission {i + 1} of {repeats}")
                upload, wait = submit_and_time(stack, data)
                uploads.append(upload)
                waits.append(wait)
                start = time.perf_counter()
                score_results_zip_parallel(zip_path, hr_dir, scale=COMPETITION.scale,  # what the worker runs,
                                           shave=COMPETITION.shave_border)  # on every core
                scoring.append(time.perf_counter() - start)
            tasks = task_seconds(Path(tmp) / "worker.log")[1:]
        finally:
            stack.close()
    overheads = [w - best(scoring) for w in waits]
    mb = len(data) / 1e6
    print_table([
        Row(f"recorded → scored, {count} × {size[1]}×{size[0]} ({mb:.0f} MB zip), median of {repeats}",
            f"{statistics.median(waits):.2f} s (+ upload {statistics.median(uploads):.2f} s)",
            f"scoring alone: {best(scoring):.2f} s; Celery task: {statistics.median(tasks):.2f} s" if tasks
            else f"scoring alone: {best(scoring):.2f} s", "—", None),
        Row("queue and bookkeeping (recorded → scored, minus scoring alone)",
            f"median {statistics.median(overheads):.2f} s, worst {max(overheads):.2f} s",
            f"scoring alone: {best(scoring):.2f} s", f"< {OVERHEAD_GOAL_S:g} s", max(overheads) < OVERHEAD_GOAL_S),
        Row("first submission after the API starts, recorded → scored", f"{cold:.2f} s",
            f"later ones: {statistics.median(waits):.2f} s", "—", None),
    ])


if __name__ == "__main__":
    main()
