"""``srchallenge status``: what the queue and the workers are doing, and what looks stuck.

Queue lengths come from the broker (Redis lists, or the filesystem broker's message files);
everything else from the database, which knows every run: a running run whose heartbeat is older
than the lease is stuck (the reaper will queue it again), a run queued longer than
``requeue_after_seconds`` has probably lost its message. Workers are those whose runs were heard
from lately, plus, where Celery's remote control works, those that answer a ping.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from server.config import Settings
from server.models import BaselineRecord, ScoringRun, Status, utcnow
from server.queue import QUEUES, get_celery
from server.schemas_admin import BaselineJobOut, QueueOut, RunOut, StatusOut, WorkerOut

SEEN_LATELY = timedelta(minutes=15)
PING_TIMEOUT_S = 1.0


def broker_kind(settings: Settings) -> str:
    return settings.celery_broker_url.partition("://")[0] or "unknown"


def queue_lengths(settings: Settings) -> tuple[dict[str, int | None], int | None]:
    """Messages waiting per queue, and (Redis) messages delivered but not yet acknowledged."""
    if settings.uses_filesystem_broker:
        folder = settings.broker_dir / "messages"
        names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
        # kombu names each message file <time>_<uuid>.<queue>.msg
        return {q: sum(name.partition(".")[2] == f"{q}.msg" for name in names) for q in QUEUES}, None
    if broker_kind(settings) not in ("redis", "rediss"):
        return dict.fromkeys(QUEUES), None
    with get_celery().connection_for_read() as connection:
        client = connection.default_channel.client
        return {q: int(client.llen(q)) for q in QUEUES}, int(client.hlen("unacked"))


def pinged_workers(settings: Settings) -> set[str] | None:
    """Worker names answering a remote-control ping; None where there is no remote control."""
    if settings.uses_filesystem_broker:
        return None
    replies = get_celery().control.ping(timeout=PING_TIMEOUT_S) or []
    return {name for reply in replies for name in reply}


def workers_from_runs(session: Session, since: datetime) -> dict[str, tuple[datetime | None, int | None]]:
    """Worker name → (last heartbeat or finish, the run it is running now)."""
    last_seen = func.max(func.coalesce(ScoringRun.heartbeat_at, ScoringRun.finished_at, ScoringRun.started_at))
    rows = session.execute(
        select(ScoringRun.worker, last_seen).where(
            ScoringRun.worker.is_not(None),
            or_(ScoringRun.heartbeat_at >= since, ScoringRun.finished_at >= since, ScoringRun.status == Status.RUNNING))
        .group_by(ScoringRun.worker))
    running = dict(session.execute(
        select(ScoringRun.worker, ScoringRun.id).where(ScoringRun.status == Status.RUNNING)).all())
    return {name: (seen, running.get(name)) for name, seen in rows}


def deployment_status(session: Session, settings: Settings) -> StatusOut:
    now = utcnow()
    broker_error = None
    try:
        lengths, in_flight = queue_lengths(settings)
    except Exception as err:  # an unreachable broker is what an organizer most needs to see
        lengths, in_flight, broker_error = dict.fromkeys(QUEUES), None, f"{type(err).__name__}: {err}"
    try:
        pinged = pinged_workers(settings) if broker_error is None else None
    except Exception:
        pinged = None
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
    return StatusOut(
        broker=broker_kind(settings), broker_error=broker_error,
        queues=[QueueOut(name=name, waiting=count) for name, count in lengths.items()], in_flight=in_flight,
        workers=workers, ping_available=pinged is not None,
        running=[RunOut.of(run) for run in running],
        stuck=[RunOut.of(run) for run in running if run.heartbeat_at is None or _aware(run.heartbeat_at) < now - lease],
        queued_too_long=[RunOut.of(run) for run in queued_long],
        baseline_measurements=[
            BaselineJobOut(id=r.id, phase=r.phase.path, status=r.status, worker=r.worker, queued_at=r.created_at,
                           started_at=r.started_at)
            for r in session.scalars(select(BaselineRecord).where(BaselineRecord.status.in_(("queued", "running")))
                                     .order_by(BaselineRecord.id))],
        lease_seconds=settings.lease_seconds, requeue_after_seconds=settings.requeue_after_seconds,
    )


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)
