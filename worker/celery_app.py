"""The worker's Celery app: the queue contract's app (server/queue.py) plus the modules whose tasks
consume its messages.

``srchallenge worker`` starts it by name, as ``celery -A worker.celery_app worker`` does, so
nothing under server/ imports the worker.
"""

from celery import Celery

from server.queue import get_celery

TASK_MODULES = ("worker.tasks", "worker.baseline")


def worker_celery() -> Celery:
    """The process's app, told to import the task modules when a worker starts on it."""
    app = get_celery()
    app.conf.include = TASK_MODULES
    return app


def __getattr__(name: str) -> Celery:
    """``app``, the name Celery's ``-A`` looks up, built on first use rather than at import time."""
    if name == "app":
        return worker_celery()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
