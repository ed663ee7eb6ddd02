"""Waking workers. Only ids travel on the queue; the worker loads everything else from the DB."""

from server.queue import SCORE_RUN_TASK, get_celery


def enqueue_run(run_id: int, queue: str) -> None:
    get_celery().send_task(SCORE_RUN_TASK, args=[run_id], queue=queue)


def broker_reachable() -> bool:
    try:
        with get_celery().connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False
