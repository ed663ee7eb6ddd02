"""End-to-end scoring of a 12-image 2K results zip, as a team runs it (``srchallenge submit --wait``):
from the start of the upload until the client sees ``scored``, split into stages, against a
reference scorer timed in the same run on the same images.

Why: what a team waits for is upload + queue + scoring + bookkeeping; only the scoring is inherent
to the zip. The deployment is real (``bench.stack.start_stack``: the API under uvicorn, one Celery
worker, SQLite, nothing mocked), once on the embedded default (filesystem broker in the data dir)
and once on Redis. The client is the CLI's own ``upload`` and ``wait_for`` (its poll schedule
included), run in this process.

Each stage ends at a stamp the product itself makes (one clock: the machine's wall clock):

* upload: the POST starts → the submission's ``created_at`` (body streamed to disk, fsynced, checked);
* commit + enqueue: → the API's "submission queued" line (the rows committed, the message sent);
* broker delivery: → the worker's "Task ... received" line (Celery's consumer has the message);
* claim: → the worker's "scoring run ... of submission" line (handed to the pool process, claimed);
* scoring: → the submission's ``finished_at`` (the zip scored on every core; stamped as the save starts);
* save: → the worker's "submission ... scored" line (figures and per-image rows committed);
* status visible: → the client's poll returns ``scored``.

The reference scorer is the obvious script (Pillow decodes SR and HR PNGs, float64 PSNR, one
process: ``bench.score_zip.reference_scores``); it runs after each submission, with the stack
idle, and each submission's ratio is to the reference run beside it. The project's scorer alone
(``score_results_zip_parallel`` in this process, as the worker runs it) is shown for context.
The first submission after the stack starts is timed apart: it pays for connecting the API to the
broker and for starting the worker's scoring processes.
"""

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench.data import COMPETITION, DIV2K_SIZE, QUICK_SIZE, sr_like
from bench.report import Row, add_common_options, best, print_header, print_table, progress
from bench.score_zip import reference_scores
from bench.stack import Stack, png_bytes, start_stack, zip_bytes
from server.cli.submit import upload, wait_for
from worker.parallel import score_results_zip_parallel

RATIO_GOAL = 0.35
"""Upload → scored seen by the client, over the reference scorer's time on the same zip."""
STAGES = ("upload", "commit + enqueue", "broker delivery", "claim", "scoring", "save", "status visible")
BROKERS = ("filesystem", "redis")


@dataclass
class Submitted:
    seconds: float
    stages: dict[str, float]


def utc_stamp(value: str) -> float:
    """Seconds since the epoch of a stored stamp (naive UTC, as the database keeps them) or a
    JSON log line's (ISO with offset)."""
    stamp = datetime.fromisoformat(value)
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp()


def json_line_stamp(log: Path, message_start: str, submission: str) -> float:
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("submission") == submission and entry.get("message", "").startswith(message_start):
                return utc_stamp(entry["timestamp"])
    raise RuntimeError(f"no {message_start!r} line for {submission} in {log}")


def received_stamps(log: Path) -> list[float]:
    """Celery's "Task srchallenge.score_run[...] received" lines (local time, milliseconds)."""
    stamps = []
    for line in log.read_text(errors="replace").splitlines():
        if "] received" in line and "srchallenge.score_run[" in line and line.startswith("["):
            stamps.append(datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f").timestamp())
    return stamps


def submit_and_time(stack: Stack, zip_path: Path) -> Submitted:
    """One submission through the CLI's client, its stages read from the stamps named above."""
    delivered_before = len(received_stamps(stack.root / "worker.log"))
    start = time.time()
    accepted = upload(stack.url, stack.phase, stack.token, zip_path, {})
    body = wait_for(stack.url, stack.token, accepted["id"], timeout_s=300)
    seen = time.time()
    if body["status"] != "scored":
        raise RuntimeError(f"the submission failed: {body}")
    public_id = accepted["id"]
    delivered = received_stamps(stack.root / "worker.log")[delivered_before:]
    if len(delivered) != 1:
        raise RuntimeError(f"expected one delivery of {public_id}, the worker log shows {len(delivered)}")
    marks = [start, utc_stamp(body["created_at"]),
             json_line_stamp(stack.root / "api.log", "submission queued", public_id), delivered[0],
             json_line_stamp(stack.root / "worker.log", "scoring run", public_id), utc_stamp(body["finished_at"]),
             json_line_stamp(stack.root / "worker.log", f"submission {public_id} scored", public_id), seen]
    stages = {name: later - earlier for name, earlier, later in zip(STAGES, marks, marks[1:])}
    return Submitted(seen - start, stages)


def run_broker(broker: str, root: Path, count: int, size: tuple[int, int], repeats: int) -> list[Row]:
    progress(f"{broker}: starting the API and a worker; importing the HR set")
    stack = start_stack(root, image_count=count, size=size, broker=broker,
                        settings={"MAX_UPLOAD_BYTES": str(1 << 30)})
    try:
        zip_path = root / "results.zip"
        zip_path.write_bytes(zip_bytes({f"{key}.png": png_bytes(sr_like(hr)) for key, hr in stack.hr.items()}))
        hr_png, hr_npy = root / "hr", stack.data_dir / "private" / "aim2019" / "validation" / "hr"
        progress(f"{broker}: first submission after the start")
        cold = submit_and_time(stack, zip_path)
        runs, references, alone = [], [], []
        for i in range(repeats):
            progress(f"{broker}: submission {i + 1} of {repeats}, then the reference scorer")
            runs.append(submit_and_time(stack, zip_path))
            start = time.perf_counter()
            reference_scores(zip_path, hr_png, COMPETITION.shave_border)
            references.append(time.perf_counter() - start)
            start = time.perf_counter()
            score_results_zip_parallel(zip_path, hr_npy, scale=COMPETITION.scale, shave=COMPETITION.shave_border)
            alone.append(time.perf_counter() - start)
    finally:
        stack.close()
    ratios = [run.seconds / reference for run, reference in zip(runs, references)]
    total = statistics.median(run.seconds for run in runs)
    mb = zip_path.stat().st_size / 1e6
    rows = [Row(f"{broker}: upload → scored seen by the client, {count} × {size[1]}×{size[0]} ({mb:.0f} MB zip), "
                f"median of {repeats}",
                f"{total:.2f} s, **{statistics.median(ratios):.2f}× the reference** "
                f"(each run: {', '.join(f'{r:.2f}' for r in ratios)})",
                f"reference scorer {statistics.median(references):.2f} s; project scorer alone "
                f"{best(alone):.2f} s", f"≤ {RATIO_GOAL:g}×", statistics.median(ratios) <= RATIO_GOAL)]
    for name in STAGES:
        seconds = statistics.median(run.stages[name] for run in runs)
        rows.append(Row(f"{broker}: stage {name}", f"{seconds:.3f} s ({seconds / total:.0%})",
                        f"worst {max(run.stages[name] for run in runs):.3f} s; first submission "
                        f"{cold.stages[name]:.3f} s", "—", None))
    rows.append(Row(f"{broker}: first submission after the start", f"{cold.seconds:.2f} s",
                    f"later ones: {total:.2f} s", "—", None))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser)
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--broker", choices=(*BROKERS, "both"), default="both")
    args = parser.parse_args()
    count, size, repeats = (2, QUICK_SIZE, 1) if args.quick else (args.images, DIV2K_SIZE, args.repeats)
    brokers = BROKERS if args.broker == "both" else (args.broker,)
    print_header(f"End-to-end scoring of a {count}-image results zip, by stage", args)
    rows = []
    for broker in brokers:
        with tempfile.TemporaryDirectory(prefix=f"srchallenge-bench-{broker}-") as tmp:
            rows += run_broker(broker, Path(tmp), count, size, repeats)
    print_table(rows)


if __name__ == "__main__":
    main()
