"""Which queued run a worker takes next: the database decides, fairly across teams, not the broker's
order of messages.

A message on a queue only wakes a worker (one message per queued run, so every run is taken);
the worker then claims the first run of ``fair_order`` it can (services/runs.py::claim_next_run).
The order: runs of a competition's final phase (its last, e.g. AIM 2019's test phase) before any
other phase's; within that, the team served least recently on this queue first (a team never
served, first of all), and each team's own runs oldest first. A team's burst of runs then delays
another team's first run by at most the job each worker is busy with (bench/fairness.py measures
it). The same order gives a queued run its place in line and an estimate of when it starts.
"""

import heapq
import math
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.models import Phase, ScoringRun, Status, Submission, utcnow
from server.queue import QUEUE_OF_KIND

RECENT_RUNS = 20
"""Finished runs whose median length estimates a queue's job length."""


@dataclass(frozen=True)
class Waiting:
    run_id: int
    team_id: int
    final: bool


def fair_sequence(waiting: Iterable[Waiting], last_served: dict[int, datetime]) -> Iterator[int]:
    """Run ids in the order workers should take them (the module docstring's rule). ``waiting`` in
    the order the runs were queued; ``last_served``: when each team last had a run started here."""
    never, served, virtual = 0, 1, 2  # a team just given a run in this sequence is served last
    served_key = {team: (served, moment.timestamp()) for team, moment in last_served.items()}
    lanes: dict[bool, dict[int, deque[int]]] = {True: defaultdict(deque), False: defaultdict(deque)}
    for run in waiting:
        lanes[run.final][run.team_id].append(run.run_id)
    turn = 0
    for final in (True, False):
        heap = [(served_key.get(team, (never, 0.0)), runs[0], team) for team, runs in lanes[final].items()]
        heapq.heapify(heap)
        while heap:
            _, run_id, team = heapq.heappop(heap)
            yield run_id
            turn += 1
            served_key[team] = (virtual, turn)
            runs = lanes[final][team]
            runs.popleft()
            if runs:
                heapq.heappush(heap, (served_key[team], runs[0], team))


def _kinds(queue: str) -> list[str]:
    return [kind for kind, its_queue in QUEUE_OF_KIND.items() if its_queue == queue]


def fair_order(session: Session, queue: str) -> list[int]:
    """The queued runs of ``queue``, in the order workers take them."""
    final_phases = select(func.max(Phase.id)).group_by(Phase.competition_id)
    rows = session.execute(
        select(ScoringRun.id, Submission.team_id, Submission.phase_id.in_(final_phases))
        .join(Submission, Submission.id == ScoringRun.submission_id)
        .where(ScoringRun.status == Status.QUEUED, Submission.kind.in_(_kinds(queue)))
        .order_by(ScoringRun.id)).all()
    teams = {team for _, team, _ in rows}
    last_served = dict(session.execute(
        select(Submission.team_id, func.max(ScoringRun.started_at))
        .join(Submission, Submission.id == ScoringRun.submission_id)
        .where(Submission.team_id.in_(teams), Submission.kind.in_(_kinds(queue)), ScoringRun.started_at.is_not(None))
        .group_by(Submission.team_id)).all()) if teams else {}
    return list(fair_sequence((Waiting(*row) for row in rows), last_served))


@dataclass(frozen=True)
class Place:
    """A queued run's place in line (1: the next one a worker takes) and when it should start,
    from how many runs of its queue are running and the median length of its recent ones."""

    position: int
    estimated_start: datetime | None


def places_in_line(session: Session, runs: Iterable[ScoringRun]) -> dict[int, Place]:
    """Run id → place, for those of ``runs`` still queued (one reading of each queue's order)."""
    by_queue: dict[str, list[int]] = defaultdict(list)
    for run in runs:
        if run.status == Status.QUEUED:
            by_queue[QUEUE_OF_KIND[run.submission.kind]].append(run.id)
    found = {}
    for queue, run_ids in by_queue.items():
        order = {run_id: position for position, run_id in enumerate(fair_order(session, queue), start=1)}
        start_of = _start_estimate(session, queue)
        found |= {run_id: Place(order[run_id], start_of(order[run_id])) for run_id in run_ids if run_id in order}
    return found


def submission_places(session: Session, submissions: Iterable[Submission]) -> dict[str, Place]:
    """Public id → the place in line of its latest run, for the submissions waiting in a queue."""
    latest = {submission.public_id: submission.runs[-1] for submission in submissions if submission.runs}
    places = places_in_line(session, latest.values())
    return {public_id: places[run.id] for public_id, run in latest.items() if run.id in places}


def _start_estimate(session: Session, queue: str):
    """position → estimated start: every busy worker frees once per job length (the median of the
    queue's recent runs); with none busy, the first in line starts now. None without a finished run."""
    kinds = _kinds(queue)
    running = session.scalar(
        select(func.count()).select_from(ScoringRun).join(Submission, Submission.id == ScoringRun.submission_id)
        .where(Submission.kind.in_(kinds), ScoringRun.status == Status.RUNNING))
    recent = session.execute(
        select(ScoringRun.started_at, ScoringRun.finished_at)
        .join(Submission, Submission.id == ScoringRun.submission_id)
        .where(Submission.kind.in_(kinds), ScoringRun.status == Status.SCORED, ScoringRun.started_at.is_not(None))
        .order_by(ScoringRun.finished_at.desc()).limit(RECENT_RUNS)).all()
    now = utcnow()
    if not recent:
        return lambda _position: None
    job_s = median((finished - started).total_seconds() for started, finished in recent)
    return lambda position: now + timedelta(
        seconds=job_s * (math.ceil(position / running) if running else position - 1))
