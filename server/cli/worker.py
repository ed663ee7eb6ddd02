"""``srchallenge worker``: a Celery worker consuming the queues of server/queue.py.

The worker's app is named, not imported (``celery -A worker.celery_app``): doors open one way,
and nothing under server/ imports the worker.
"""

import os
from typing import Annotated

import typer

from server.cli.output import fail
from server.queue import QUEUES

WORKER_APP = "worker.celery_app"


def default_node_name() -> str:
    """Celery's default is celery@HOST, the same for every worker on a host: their runs and pings
    then read as one worker's in `srchallenge status`. The process id tells them apart."""
    return f"worker-{os.getpid()}@%h"


def worker(
    queues: Annotated[str, typer.Option(help="comma-separated: scoring (results zips), gpu (code re-runs)")]
    = "scoring,gpu",
    concurrency: int = 1,
    hostname: Annotated[str | None, typer.Option(
        help="the worker's node name (default worker-PID@HOST: two workers on one host never share one)")] = None,
):
    """Run a Celery worker that scores submissions."""
    from celery.bin.celery import celery

    unknown = set(queues.split(",")) - set(QUEUES)
    if unknown:
        fail(f"unknown queue(s) {sorted(unknown)}; known: {', '.join(QUEUES)}")
    argv = ["--app", WORKER_APP, "worker", "-Q", queues, "--concurrency", str(concurrency), "--loglevel", "INFO",
            "--without-gossip", "--without-mingle"]
    argv += ["--hostname", hostname or default_node_name()]
    celery.main(args=argv, prog_name="srchallenge worker", standalone_mode=False)
