"""The queue contract: what the server produces and the worker consumes.

Task names, queue names, broker options and the Celery app factory live here, on the server side,
so imports run one way (worker → server): the server sends ``(task name, ids)`` and never imports
the worker; the worker registers its tasks under these names (worker/celery_app.py).

Jobs carry ids only (a scoring run's, a phase's); the database holds the truth about each job. A
scoring run's message wakes a worker, which then takes the run due next on that queue, fairly
across teams (server/services/fair_share.py), not necessarily the run it names.
At-least-once delivery: a job is acknowledged after it finishes (``acks_late``) and re-delivered
if its worker dies; the task itself makes a duplicate delivery harmless (see worker/tasks.py).
"""

from functools import lru_cache

from celery import Celery

from server.config import Settings, get_settings

SCORE_RUN_TASK = "srchallenge.score_run"
MEASURE_BASELINE_TASK = "srchallenge.measure_baseline"
SCORING_QUEUE = "scoring"  # results zips: CPU work
GPU_QUEUE = "gpu"  # code re-runs and baseline timing: the device that times submissions
QUEUES = (SCORING_QUEUE, GPU_QUEUE)
# Code re-runs need the measurement device; results zips go to any CPU worker.
QUEUE_OF_KIND = {"code": GPU_QUEUE, "results": SCORING_QUEUE}
# Longer than the longest job (code re-run wall limit plus scoring), so Redis never re-delivers
# a job that is still running.
VISIBILITY_TIMEOUT_S = 4 * 3600


def broker_options(settings: Settings) -> dict:
    if settings.uses_filesystem_broker:
        folder, control = settings.broker_dir / "messages", settings.broker_dir / "control"
        for path in (folder, control):
            path.mkdir(parents=True, exist_ok=True)
        # control_folder defaults to ./control in the working directory: keep it in the data dir
        return {"data_folder_in": str(folder), "data_folder_out": str(folder), "control_folder": str(control),
                "store_processed": False}
    return {"visibility_timeout": VISIBILITY_TIMEOUT_S}


def create_celery(settings: Settings) -> Celery:
    app = Celery("srchallenge", broker=settings.celery_broker_url)
    app.conf.update(
        broker_transport_options=broker_options(settings),
        broker_connection_retry_on_startup=True,
        task_default_queue=SCORING_QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        # the filesystem transport has no fanout exchange for remote control commands
        worker_enable_remote_control=not settings.uses_filesystem_broker,
        task_soft_time_limit=3 * 3600,
        task_time_limit=3 * 3600 + 300,
    )
    return app


@lru_cache
def get_celery() -> Celery:
    """This process's Celery app: the server sends on it, a worker process also consumes on it."""
    return create_celery(get_settings())
