"""Leaderboard API latency with 10,000 submissions in the database, at a steady request rate.

Why: the leaderboard is the page everyone refreshes near a deadline, and each request ranks every
team's standing submission from the database. The database is seeded directly through the models
(100 teams, 10,000 submissions over both phases, nine in ten scored), then the real server
(``srchallenge serve``) is driven open-loop (bench/loadgen.py): each request is timed from the
moment it was due, so a server that falls behind is charged for the queue it builds.

The goal is absolute (p99 < 50 ms at 200 requests/s). References in the same run: ``/healthz`` at
the same rate (what the server, the client and loopback cost with no work in a route), and, one
request at a time, the server CPU per request of the leaderboard, of the phase detail (the cheapest
route with a database session) and of ``/healthz``: 200 requests/s need well under 5 ms of CPU
each from one server process. The first request, which ranks the phase, is shown against the
later ones. The server runs with its defaults: the JSON board is served from a render at most
``leaderboard_max_age_seconds`` (1 s) old (server/recent.py); a second server with max age 0 shows
what each request costs when it asks the database for the board's version. The competition's
HTML page is timed the same two ways.
"""

import argparse
import asyncio
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bench.data import OUT
from bench.loadgen import TIMEOUT_S, open_loop
from bench.report import Row, add_common_options, print_header, print_table, progress
from bench.server import api_server, database, seed_competition
from server.db import make_engine
from server.models import Phase, ScoringRun, Submission, Team
from server.services.teams import create_team

P99_GOAL_MS = 50.0
PAGE = "/competitions/aim2019?phase=validation"


def seed_submissions(url: str, submissions: int, teams: int) -> None:
    """``submissions`` spread over ``teams`` teams and both phases (4 in 5 on validation), each with
    the scoring run that scored or failed it."""
    rng = random.Random(2019)
    engine = make_engine(url)
    with Session(engine) as session:
        for i in range(teams):
            create_team(session, f"team {i:03d}")
        team_ids = list(session.scalars(select(Team.id).where(Team.name.like("team %"))))
        phases = {p.slug: p for p in session.scalars(select(Phase))}
        start = datetime(2019, 7, 1, tzinfo=UTC)
        rows = []
        for i in range(submissions):
            phase = phases["validation" if rng.random() < 0.8 else "test"]
            scored = rng.random() < 0.9
            params = rng.randint(700_000, 1_600_000)
            runtime = rng.uniform(0.05, 0.16)
            rows.append({
                "public_id": f"{i:020x}", "phase_id": phase.id, "team_id": rng.choice(team_ids),
                "kind": "results", "status": "scored" if scored else "failed",
                "reason": None if scored else "0803.png is 510×339, expected 2040×1356",
                "created_at": start + timedelta(minutes=10 * i), "finished_at": start + timedelta(minutes=10 * i + 1),
                "filename": "results.zip", "file_size": 500_000_000, "file_sha256": f"{i:064x}",
                "tracks": [t.slug for t in phase.tracks if rng.random() < 0.8] or [phase.tracks[0].slug],
                "psnr": rng.uniform(28.4, 29.3) if scored else None,
                "params": params if scored else None, "runtime": runtime if scored else None,
                "runtime_baseline": 0.13 if scored else None, "runtime_ratio": runtime / 0.13 if scored else None,
                "self_params": params, "self_runtime": runtime * rng.uniform(0.9, 1.1), "self_runtime_baseline": 0.13,
                "gpu": "Titan Xp", "extra_data": rng.random() < 0.2, "description": "residual network, pruned",
            })
        session.execute(insert(Submission), rows)
        ids = session.execute(select(Submission.id, Submission.status, Submission.created_at)).all()
        session.execute(insert(ScoringRun), [
            {"submission_id": id_, "attempt": 1, "status": status, "queued_at": at, "finished_at": at,
             "worker": "worker@bench", "figures": {}, "log": ""} for id_, status, at in ids])
        session.commit()
    if engine.dialect.name == "postgresql":
        # What a database that has been running for weeks has done long ago; otherwise autovacuum
        # does it during the measurement, on the cores the server and the client need.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def server_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_at_a_time(url: str, pid: int, requests: int) -> tuple[float, float]:
    """(median wall seconds, server CPU seconds) per request, one request at a time: what a request
    costs with no queueing. CPU time is the server process's, so other load on the machine barely
    changes it."""
    seconds = []
    with httpx.Client(timeout=TIMEOUT_S) as client:
        client.get(url).raise_for_status()
        cpu = server_cpu_seconds(pid)
        for _ in range(requests):
            start = time.perf_counter()
            client.get(url).raise_for_status()
            seconds.append(time.perf_counter() - start)
        cpu = server_cpu_seconds(pid) - cpu
    return statistics.median(seconds), cpu / requests


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 10) - 1]


def measure(backend: str, submissions: int, teams: int, rate: float, seconds: float) -> list[Row]:
    data_dir = OUT / f"leaderboard-{backend}"
    with database(backend, data_dir) as url:
        progress(f"seeding {submissions:,} submissions ({backend})")
        seed_competition(url)
        seed_submissions(url, submissions, teams)
        with api_server(url, data_dir) as (base, pid):
            progress(f"driving {base}")
            board = f"{base}/api/v1/phases/aim2019/validation/leaderboard"
            start = time.perf_counter()
            rows_per_board = sum(len(t["rows"]) for t in httpx.get(board, timeout=60).json()["tracks"])
            cold = time.perf_counter() - start
            one = {name: one_at_a_time(f"{base}{path}", pid, 200) for name, path in (
                ("board", "/api/v1/phases/aim2019/validation/leaderboard"),
                ("phase", "/api/v1/phases/aim2019/validation"), ("health", "/healthz"), ("page", PAGE))}
            reference, _ = asyncio.run(open_loop(f"{base}/healthz", rate, seconds))
            latencies, failed = asyncio.run(open_loop(board, rate, seconds))
        with api_server(url, data_dir, LEADERBOARD_MAX_AGE_SECONDS="0") as (base, pid):
            fresh_wall, fresh_cpu = one_at_a_time(f"{base}/api/v1/phases/aim2019/validation/leaderboard", pid, 200)
            page_fresh_wall, page_fresh_cpu = one_at_a_time(f"{base}{PAGE}", pid, 50)
    p50, p99 = percentile(latencies, 50) * 1e3, percentile(latencies, 99) * 1e3
    ref50, ref99 = percentile(reference, 50) * 1e3, percentile(reference, 99) * 1e3
    what = f"{backend}, {submissions:,} submissions, {rows_per_board} rows"
    load = f"{what}, {rate:g} req/s for {seconds:g} s"
    (board_wall, board_cpu), (phase_wall, phase_cpu), (health_wall, health_cpu), (page_wall, page_cpu) = one.values()
    return [
        Row(f"leaderboard, first request: ranks the phase ({what})", f"{cold * 1e3:.0f} ms",
            f"later ones: {board_wall * 1e3:.1f} ms ({cold / board_wall:.0f}× more)", "—", None),
        Row(f"leaderboard, one request at a time ({what})",
            f"{board_wall * 1e3:.1f} ms, server CPU {board_cpu * 1e3:.1f} ms",
            f"phase detail (GET /api/v1/phases/…): {phase_wall * 1e3:.1f} ms, CPU {phase_cpu * 1e3:.1f} ms; "
            f"/healthz: {health_wall * 1e3:.1f} ms, CPU {health_cpu * 1e3:.1f} ms", "—", None),
        Row(f"leaderboard with max age 0: each request asks the database for the board's version ({what})",
            f"{fresh_wall * 1e3:.1f} ms, server CPU {fresh_cpu * 1e3:.1f} ms",
            f"served from the recent render (max age 1 s): CPU {board_cpu * 1e3:.1f} ms", "—", None),
        Row(f"competition page (HTML), one request at a time ({what})",
            f"{page_wall * 1e3:.1f} ms, server CPU {page_cpu * 1e3:.1f} ms (a recent render)",
            f"max age 0 (its tables memoized per board version): {page_fresh_wall * 1e3:.1f} ms, "
            f"CPU {page_fresh_cpu * 1e3:.1f} ms", "—", None),
        Row(f"leaderboard p50 ({load})", f"{p50:.1f} ms", f"/healthz p50 {ref50:.1f} ms", "—", None),
        Row(f"leaderboard p99 ({load}; {failed} failed)", f"{p99:.1f} ms", f"/healthz p99 {ref99:.1f} ms",
            f"< {P99_GOAL_MS:g} ms", p99 < P99_GOAL_MS and not failed),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    submissions, teams = (200, 10) if args.quick else (10_000, 100)
    rate, seconds = (20.0, 1.0) if args.quick else (args.rate, args.seconds)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print_header("Leaderboard API under load", args)
    rows = []
    for backend in backends:
        rows += measure(backend, submissions, teams, rate, seconds)
    print_table(rows)


if __name__ == "__main__":
    main()
