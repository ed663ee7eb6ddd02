"""A deadline burst: 100 results-zip uploads from 20 teams at once, on PostgreSQL + Redis.

Why: near a deadline every team uploads at the same minute, the most common way challenge
platforms fail. The deployment is real (redis, the API under uvicorn, one worker, PostgreSQL on
loopback). Every upload is sent once (no retries) from its own thread while one more thread polls
``/healthz``; the bench then waits until every accepted submission is scored and reads the
database: each accepted submission must have exactly one scoring run, scored, and no refused
upload may have left a row.

Reported: accepted uploads, 5xx answers, ``/healthz`` p99 during the burst against the same probe
on the idle server, and the time until all are scored against one submission scored alone.
"""

import argparse
import multiprocessing
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.pg import PostgresServer
from bench.report import Row, add_common_options, print_header, print_table, progress
from bench.stack import start_stack
from server.db import make_engine
from server.services.teams import create_team

HEALTHZ_P99_GOAL_S = 1.0
PROBE_INTERVAL_S = 0.02
MAX_WAIT_S = 1800


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98] if len(samples) >= 2 else samples[0]


def _probe(url: str, ready, stop, results) -> None:
    seconds, failures = [], 0
    with httpx.Client(base_url=url, timeout=60) as client:
        ready.set()
        while not stop.is_set():
            start = time.perf_counter()
            try:
                ok = client.get("/healthz").status_code == 200
            except httpx.HTTPError:
                ok = False
            seconds.append(time.perf_counter() - start)
            failures += not ok
            stop.wait(PROBE_INTERVAL_S)
    results.put((seconds, failures))


class HealthProbe:
    """GET /healthz every PROBE_INTERVAL_S, for as long as the block runs, from a process of its own
    (in this one, the upload threads would hold the GIL and the client would time itself)."""

    def __init__(self, url: str):
        context = multiprocessing.get_context("spawn")
        self.url, self.seconds, self.failures = url, [], 0
        self._ready, self._stop, self._results = context.Event(), context.Event(), context.Queue()
        self._process = context.Process(target=_probe, args=(url, self._ready, self._stop, self._results))

    def __enter__(self):
        self._process.start()
        if not self._ready.wait(120):
            raise RuntimeError("the /healthz probe did not start")
        return self

    def __exit__(self, *_exc):
        self._stop.set()
        self.seconds, self.failures = self._results.get(timeout=120)
        self._process.join()


def add_teams(url: str, count: int) -> list[str]:
    engine = make_engine(url)
    with Session(engine) as session:
        tokens = [create_team(session, f"burst-{i:02d}")[1] for i in range(count)]
        session.commit()
    engine.dispose()
    return tokens


def upload(stack, data: bytes, token: str) -> httpx.Response | str:
    try:
        with httpx.Client(base_url=stack.url, timeout=300) as client:
            return client.post(f"/api/v1/phases/{stack.phase}/submissions", headers={"Authorization": f"Bearer {token}"},
                               files={"file": ("results.zip", data, "application/zip")})
    except httpx.HTTPError as err:
        return type(err).__name__


def runs_by_submission(url: str) -> dict[str, list[str]]:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT s.public_id, r.status FROM submissions s "
                                       "LEFT JOIN scoring_runs r ON r.submission_id = s.id")).all()
    engine.dispose()
    runs: dict[str, list[str]] = {}
    for public_id, status in rows:
        runs.setdefault(public_id, []).extend([status] if status else [])
    return runs


def wait_all_scored(url: str, ids: set[str], since: float) -> float:
    while time.perf_counter() - since < MAX_WAIT_S:
        runs = runs_by_submission(url)
        if all(runs.get(i) and all(status in ("scored", "failed") for status in runs[i]) for i in ids):
            return time.perf_counter() - since
        time.sleep(0.5)
    raise RuntimeError(f"not all scored after {MAX_WAIT_S} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser)
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    args = parser.parse_args()
    uploads, teams = (20, 5) if args.quick else (args.uploads, args.teams)
    print_header(f"Deadline burst: {uploads} uploads from {teams} teams at once (PostgreSQL + Redis)", args)
    pg = PostgresServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="srchallenge-burst-") as tmp:
            progress("starting redis, API and worker on PostgreSQL; importing the HR set")
            # a team sends its share of the burst at once: the per-team cap is an abuse bound, not the subject
            stack = start_stack(Path(tmp), database_url=pg.create_database("burst"), image_count=2, size=(256, 384),
                                settings={"LOG_FORMAT": "text",
                                          "MAX_CONCURRENT_UPLOADS_PER_TEAM": str(-(-uploads // teams))})
            try:
                url = stack.env["SRCHALLENGE_DATABASE_URL"]
                tokens = add_teams(url, teams)
                data = stack.results_zip()
                with HealthProbe(stack.url) as idle_probe:
                    time.sleep(2)
                progress("one submission alone (the reference)")
                start = time.perf_counter()
                alone = upload(stack, data, tokens[0])
                wait_all_scored(url, {alone.json()["id"]}, start)
                one_scored = time.perf_counter() - start
                progress(f"the burst: {uploads} uploads of {len(data) / 1e3:.0f} KB")
                with HealthProbe(stack.url) as probe, ThreadPoolExecutor(uploads) as pool:
                    start = time.perf_counter()
                    answers = list(pool.map(lambda i: upload(stack, data, tokens[i % teams]), range(uploads)))
                    burst_s = time.perf_counter() - start
                accepted = {a.json()["id"] for a in answers if not isinstance(a, str) and a.status_code == 202}
                errors = [a if isinstance(a, str) else a.status_code for a in answers
                          if isinstance(a, str) or a.status_code >= 500]
                refused = sorted(a.status_code for a in answers if not isinstance(a, str) and a.status_code != 202)
                progress(f"{len(accepted)} accepted in {burst_s:.1f} s; waiting until all are scored")
                all_scored = wait_all_scored(url, accepted, start)
                runs = runs_by_submission(url)
            finally:
                stack.close()
    finally:
        pg.stop()
    recorded = set(runs) - {alone.json()["id"]}
    wrong = sorted(i for i in accepted if runs.get(i) != ["scored"]) + sorted(recorded - accepted)
    print_table([
        Row("uploads accepted (202)", f"{len(accepted)} of {uploads}" + (f"; refused: {refused}" if refused else ""),
            f"{teams} teams, one thread each upload", "all", len(accepted) == uploads),
        Row("5xx answers or client errors", f"{len(errors)}" + (f": {sorted(set(map(str, errors)))}" if errors else ""),
            f"burst sent and answered in {burst_s:.1f} s", "0", not errors),
        Row("/healthz p99 during the burst", f"{p99(probe.seconds):.3f} s (max {max(probe.seconds):.3f} s, "
            f"{len(probe.seconds)} probes, {probe.failures} failed)", f"idle server: {p99(idle_probe.seconds) * 1000:.1f} ms",
            f"< {HEALTHZ_P99_GOAL_S:g} s", p99(probe.seconds) < HEALTHZ_P99_GOAL_S and not probe.failures),
        Row("burst start → all accepted submissions scored", f"{all_scored:.1f} s",
            f"one submission alone: {one_scored:.2f} s ({all_scored / max(len(accepted), 1):.2f} s each)", "—", None),
        Row("lost, scored twice, or recorded though refused", f"{len(wrong)}", "database rows after the burst", "0",
            not wrong),
    ])


if __name__ == "__main__":
    main()
