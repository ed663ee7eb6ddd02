"""``srchallenge status``: what the queue and the workers are doing, and what looks stuck.

Queue lengths come from the broker (Redis lists, or the filesystem broker's message files);
everything else from the database, which knows every run: a running run whose heartbeat is older
than the lease is stuck (the reaper will queue it again), a run queued longer than
``requeue_after_seconds`` has probably lost its message. Workers are those whose runs were heard
from lately, plus, where Celery's remote control works, those that answer a ping.
"""

from datetime import datetime, timedelta

import json

from sqlalchemy import func, or_, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from server.config import Settings
from server.models import BASELINE_PENDING, BaselineRecord, ScoringRun, Status, utcnow
from server.queue import QUEUES, get_celery
from server.schemas_admin import BaselineJobOut, QueueOut, RunOut, StatusOut, WorkerOut

SEEN_LATELY = timedelta(minutes=15)
PING_TIMEOUT_S = 1.0


def broker_kind(settings: Settings) -> str:
    return settings.celery_broker_url.partition("://")[0] or "unknown"


def queue_lengths(settings: Settings) -> tuple[dict[str, int | None], list[str] | None]:
    """Messages waiting per queue, and (Redis) the task ids delivered but not yet acknowledged."""
    if settings.uses_filesystem_broker:
        folder = settings.broker_dir / "messages"
        names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
        # kombu names each message file <time>_<uuid>.<queue>.msg
        return {q: sum(name.partition(".")[2] == f"{q}.msg" for name in names) for q in QUEUES}, None
    if broker_kind(settings) not in ("redis", "rediss"):
        return dict.fromkeys(QUEUES), None
    with get_celery().connection_for_read() as connection:
        client = connection.default_channel.client
        # kombu keeps each unacknowledged message as [message, exchange, routing key] in this hash
        unacked = [json.loads(value)[0].get("headers", {}).get("id", "?") for value in client.hvals("unacked")]
        return {q: int(client.llen(q)) for q in QUEUES}, unacked


def tasks_held_by_live_workers() -> set[str]:
    """Ids of the tasks that workers answering the broker are running or hold reserved."""
    inspect = get_celery().control.inspect(timeout=PING_TIMEOUT_S)
    held = set()
    for replies in (inspect.active() or {}, inspect.reserved() or {}):
        held |= {task["id"] for tasks in replies.values() for task in tasks}
    return held


def pinged_workers(settings: Settings) -> set[str] | None:
    """Worker names answering a remote-control ping; None where there is no remote control."""
    if settings.uses_filesystem_broker:
        return None
    replies = get_celery().control.ping(timeout=PING_TIMEOUT_S) or []
    return {name for reply in replies for name in reply}


def workers_from_runs(session: Session, since: datetime) -> dict[str, tuple[datetime | None, int | None]]:
    """Worker name → (last heartbeat or finish, the run it is running now): workers of scoring runs
    and of baseline measurements (a worker timing the baseline for minutes is not gone)."""
    last_seen = func.max(func.coalesce(ScoringRun.heartbeat_at, ScoringRun.finished_at, ScoringRun.started_at))
    rows = dict(session.execute(
        select(ScoringRun.worker, last_seen).where(
            ScoringRun.worker.is_not(None),
            or_(ScoringRun.heartbeat_at >= since, ScoringRun.finished_at >= since, ScoringRun.status == Status.RUNNING))
        .group_by(ScoringRun.worker)).all())
    measuring = session.execute(
        select(BaselineRecord.worker, func.max(func.coalesce(BaselineRecord.finished_at, BaselineRecord.started_at)))
        .where(BaselineRecord.worker.is_not(None),
               or_(BaselineRecord.started_at >= since, BaselineRecord.finished_at >= since,
                   BaselineRecord.status.in_(BASELINE_PENDING)))
        .group_by(BaselineRecord.worker))
    for name, seen in measuring:
        rows[name] = max((_aware(t) for t in (rows.get(name), seen) if t is not None), default=None)
    running = dict(session.execute(
        select(ScoringRun.worker, ScoringRun.id).where(ScoringRun.status == Status.RUNNING)).all())
    return {name: (seen, running.get(name)) for name, seen in rows.items()}


def deployment_status(session: Session, settings: Settings) -> StatusOut:
    """What is up and what is down: a broker or database that does not answer is reported as such,
    with whatever the other one can still tell."""
    now = utcnow()
    broker_error = None
    try:
        lengths, unacked = queue_lengths(settings)
    except Exception as err:  # an unreachable broker is what an organizer most needs to see
        lengths, unacked, broker_error = dict.fromkeys(QUEUES), None, f"{type(err).__name__}: {err}"
    try:
        pinged = pinged_workers(settings) if broker_error is None else None
        live = tasks_held_by_live_workers() if unacked else set()
    except Exception:
        pinged, live = None, set()
    in_flight = None if unacked is None else sum(task in live for task in unacked)
    gone = None if unacked is None else len(unacked) - in_flight
    try:
        return _with_runs(session, settings, now, StatusOut(
            broker=broker_kind(settings), broker_error=broker_error,
            queues=[QueueOut(name=name, waiting=count) for name, count in lengths.items()], in_flight=in_flight,
            held_by_gone_workers=gone, workers=[], ping_available=pinged is not None, running=[], stuck=[],
            queued_too_long=[], lease_seconds=settings.lease_seconds,
            requeue_after_seconds=settings.requeue_after_seconds), pinged)
    except (OperationalError, InterfaceError) as err:
        session.rollback()
        return StatusOut(
            broker=broker_kind(settings), broker_error=broker_error, database_error=str(err.orig).strip(),
            queues=[QueueOut(name=name, waiting=count) for name, count in lengths.items()], in_flight=in_flight,
            held_by_gone_workers=gone, ping_available=pinged is not None, running=[], stuck=[], queued_too_long=[],
            workers=[WorkerOut(name=name, last_seen=None, answered_ping=True, running_run=None)
                     for name in sorted(pinged or ())],
            lease_seconds=settings.lease_seconds, requeue_after_seconds=settings.requeue_after_seconds)


def _with_runs(session: Session, settings: Settings, now: datetime, report: StatusOut,
               pinged: set[str] | None) -> StatusOut:
    """The report completed from the database: workers seen lately, running and stuck runs."""
    seen = workers_from_runs(session, now - SEEN_LATELY)
    names = sorted(set(seen) | (pinged or set()))
    workers = [WorkerOut(name=name, last_seen=seen.get(name, (None, None))[0], answered_ping=name in (pinged or ()),
                         running_run=seen.get(name, (None, None))[1]) for name in names]
    running = list(session.scalars(select(ScoringRun).where(ScoringRun.status == Status.RUNNING)
                                   .order_by(ScoringRun.started_at)))
    lease = timedelta(seconds=settings.lease_seconds)
    queued_long = session.scalars(select(ScoringRun).where(
        ScoringRun.status == Status.QUEUED,
        ScoringRun.queued_at < now - timedelta(seconds=settings.requeue_after_seconds)).order_by(ScoringRun.queued_at))
    return report.model_copy(update={
        "workers": workers, "running": [RunOut.of(run) for run in running],
        "stuck": [RunOut.of(run) for run in running if run.heartbeat_at is None or _aware(run.heartbeat_at) < now - lease],
        "queued_too_long": [RunOut.of(run) for run in queued_long],
        "baseline_measurements": [
            BaselineJobOut(id=r.id, phase=r.phase.path, status=r.status, worker=r.worker, queued_at=r.created_at,
                           started_at=r.started_at, stage=r.stage)
            for r in session.scalars(select(BaselineRecord).where(BaselineRecord.status.in_(BASELINE_PENDING))
                                     .order_by(BaselineRecord.id))]})


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)
