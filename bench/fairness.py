"""How long a late team waits for its first result behind other teams' bursts.

A real deployment on loopback (bench/stack.py: Redis, the API, real `srchallenge worker`
processes, SQLite): ``--teams`` teams queue ``--runs`` results zips each (before the workers start,
so the whole burst waits, as it would behind busy workers), then, once every
one of them has had a run started, a late team sends one. Measured: how long the late team's run
waits to start, in job lengths (the median scoring time of the burst's jobs in the same run),
with 1 and 2 workers. Goal: at most one job length, the jobs the busy workers are on (one per
worker), where FIFO made it wait for every run queued before it (that count, times a job length
over the workers, is printed for context: what FIFO would have cost, computed, not run). A late
team arriving before every bursting team has been served waits, in addition, for the first runs
of the teams not served yet (round-robin: each team's first run in arrival order).
Results zips are the short jobs here; a code re-run takes the same path (queue, claim, score).
"""

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path
from statistics import median

from bench.report import Row, add_common_options, print_header, print_table, progress
from bench.stack import start_stack


def runs(stack) -> list[tuple]:
    """(team, created, started, finished, status) of every run, timestamps as SQLite stores them."""
    with sqlite3.connect(stack.data_dir / "srchallenge.db") as db:
        return db.execute(
            "SELECT t.name, julianday(s.created_at), julianday(r.started_at), julianday(r.finished_at), r.status "
            "FROM scoring_runs r JOIN submissions s ON s.id = r.submission_id JOIN teams t ON t.id = s.team_id "
            "ORDER BY r.id").fetchall()


def seconds(days: float) -> float:
    return days * 86400


def one_case(root: Path, workers: int, teams: int, per_team: int, image_count: int) -> Row:
    stack = start_stack(root, image_count=image_count, size=(192, 256))
    try:
        stack.stop("worker")  # the burst is queued before any worker takes a run: all of it waits
        tokens = [stack.cli("team", "create", f"burst{i}").stdout.strip().splitlines()[-1] for i in range(teams)]
        late_token = stack.cli("team", "create", "late").stdout.strip().splitlines()[-1]
        data = stack.results_zip()
        for _ in range(per_team):
            for token in tokens:
                assert stack.upload(data, token=token).status_code == 202
        progress(f"{workers} worker(s): burst of {teams * per_team} queued")
        for i in range(workers):
            stack.start_worker(f"worker{i + 1}")
        deadline = time.monotonic() + 600
        while len({team for team, _, started, *_ in runs(stack) if started is not None}) < teams:
            assert time.monotonic() < deadline, "the burst's first runs did not all start"
            time.sleep(0.05)
        ahead = sum(status in ("queued", "running") for *_, status in runs(stack))
        late = stack.upload(data, token=late_token)
        assert late.status_code == 202, late.text
        assert stack.wait_scored(late.json()["id"], timeout_s=600, token=late_token)["status"] == "scored"
        while any(status in ("queued", "running") for *_, status in runs(stack)):
            time.sleep(0.2)
        rows = runs(stack)
    finally:
        stack.close()
    job_s = median(seconds(finished - started) for team, _, started, finished, _ in rows if team != "late")
    [(_, created, started, finished, _)] = [row for row in rows if row[0] == "late"]
    wait_s, result_s = seconds(started - created), seconds(finished - created)
    return Row(f"late team's first run, {teams} teams × {per_team} runs, {workers} worker(s)",
               f"started after {wait_s:.2f} s = {wait_s / job_s:.2f} job lengths (result after {result_s:.2f} s)",
               f"job length {job_s:.2f} s (median); FIFO: {ahead} runs ahead, ≈ {ahead * job_s / workers:.0f} s",
               "start ≤ 1 job length (the jobs the workers are on)", wait_s <= job_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5, help="runs per bursting team")
    parser.add_argument("--images", type=int, default=8, help="images per results zip (sets the job length)")
    add_common_options(parser)
    args = parser.parse_args()
    if args.quick:
        args.teams, args.runs, args.images = 2, 2, 1
    print_header("Fair share on the queue", args)
    rows = []
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as root:
            rows.append(one_case(Path(root), workers, args.teams, args.runs, args.images))
    print_table(rows)


if __name__ == "__main__":
    main()
