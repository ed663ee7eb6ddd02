"""What a worker does beside its tasks: renew the lease of the running job, reap stale runs and
orphan upload folders, never share database connections across a fork, and prepare each pool
process for the parallel scorer (allowed to start processes, keeping freed memory)."""

import logging
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from celery.signals import worker_process_init, worker_process_shutdown, worker_ready, worker_shutdown

from server.config import get_settings
from server.db import get_engine, session_scope
from server.services.queue import enqueue_run
from server.services.orphans import sweep_orphan_uploads
from server.services.reaper import reap_stale_runs
from server.services.runs import heartbeat
from server.services.storage import Storage
from worker.parallel import keep_freed_memory, shutdown_pool
from worker.parent_death import die_with_parent

log = logging.getLogger("srchallenge.worker")
_stop_reaper = threading.Event()


@contextmanager
def lease(run_id: int, delivery: int | None = None) -> Iterator[None]:
    """Renew the run's heartbeat in the background while the body runs (only while ``delivery``
    still holds the run)."""
    stop = threading.Event()
    interval = get_settings().heartbeat_interval

    def renew() -> None:
        while not stop.wait(interval):
            try:
                with session_scope() as session:
                    heartbeat(session, run_id, delivery=delivery)
            except Exception:  # a missed heartbeat is retried next interval; the reaper tolerates a few
                log.exception("heartbeat of run %s failed", run_id)

    thread = threading.Thread(target=renew, name=f"lease-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def reap_forever() -> None:
    """A pass every heartbeat. ``watching_since``: since when this reaper has reached the database
    without a break (after a failed pass it judges heartbeats only once it has watched them for a
    lease); a reaper just started has missed nothing."""
    settings = get_settings()
    watching_since = -math.inf
    while not _stop_reaper.wait(settings.heartbeat_interval):
        try:
            with session_scope() as session:
                report = reap_stale_runs(session, settings, enqueue_run, time.monotonic() - watching_since)
                orphans = sweep_orphan_uploads(session, Storage.from_settings(settings),
                                               settings.orphan_upload_seconds)
            if report.requeued or report.failed or report.resent:
                log.warning("reaper: requeued %s, gave up %s, resent %s", report.requeued, report.failed, report.resent)
            if orphans:
                log.warning("reaper: removed %d upload folder(s) no submission owns: %s", len(orphans), orphans)
        except Exception:
            log.exception("reaper pass failed")
            watching_since = time.monotonic()


@worker_process_init.connect
def _fresh_connections_after_fork(**_kwargs) -> None:
    get_engine().dispose(close=False)


@worker_process_init.connect
def _allow_scoring_processes(**_kwargs) -> None:
    """Let this pool process start the parallel scorer's processes (worker/parallel.py).

    Celery's pool (billiard) marks its processes daemonic, and multiprocessing refuses children to
    a daemonic process so that none outlives a killed parent: the scorer's processes come from a
    forkserver, which exits when this process dies, and they exit when their task pipe closes
    (tests/e2e/test_faults.py kills a worker mid-job). The flag lives in a private dict: there is
    no public way to unset it in a running process. Billiard also leaves its own authentication
    key here, of billiard's own class, which multiprocessing will not send to the forkserver; a
    fresh one of multiprocessing's class replaces it. Tested by every results zip the end-to-end
    tests score: a refusal fails them as a platform failure."""
    process = multiprocessing.current_process()
    process._config["daemon"] = False
    process._config["authkey"] = multiprocessing.process.AuthenticationString(os.urandom(32))


@worker_process_init.connect
def _die_with_the_worker(**_kwargs) -> None:
    """A pool process (and so the scorer's forkserver and processes under it) ends with the
    worker's main process, even after a kill -9 of it (tests/e2e/test_worker_shutdown.py)."""
    die_with_parent()


@worker_process_shutdown.connect
def _stop_scoring_processes(**_kwargs) -> None:
    shutdown_pool()


@worker_process_init.connect
def _keep_freed_memory(**_kwargs) -> None:
    """The allocator settings of the parallel scorer's processes, for the zips scored here alone
    (one image, or SRCHALLENGE_SCORING_PROCESSES=1): a share of each image's scoring time otherwise
    goes to faulting in fresh pages (docs/benchmarks.md has the figures)."""
    keep_freed_memory()


@worker_ready.connect
def _start_reaper(**_kwargs) -> None:
    _stop_reaper.clear()
    threading.Thread(target=reap_forever, name="reaper", daemon=True).start()


@worker_shutdown.connect
def _stop(**_kwargs) -> None:
    _stop_reaper.set()
