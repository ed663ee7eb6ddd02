"""The platform's own log lines (loggers under ``srchallenge``), as JSON or as text.

JSON (``SRCHALLENGE_LOG_FORMAT=json``, what docker-compose sets): one object per line with
``timestamp``, ``level``, ``logger``, ``message`` and the context passed as ``extra`` —
``submission`` (its public id), ``run``, ``phase``, ``status`` — so a log store can pull every
line about one submission across the API and the workers. Text (the default, for a terminal)
appends the same context as ``key=value``. python-json-logger does the JSON; uvicorn's access log
and Celery's own lines keep their formats.
"""

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

CONTEXT = ("submission", "run", "phase", "kind", "status", "worker")
"""The ``extra`` keys the platform logs with; the text format prints these, JSON prints any."""


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(f"{key}={getattr(record, key)}" for key in CONTEXT if hasattr(record, key))
        line = super().format(record)
        return f"{line} [{context}]" if context else line


def configure_logging(log_format: str) -> None:
    """Send ``srchallenge.*`` lines to stderr in ``log_format`` ("json" or "text"), once per process.

    The handler keeps the stderr of the moment it is made: a Celery worker later redirects
    ``sys.stderr`` into its own logger, and our lines must not go round through it."""
    formatter = (JsonFormatter("%(levelname)s %(name)s %(message)s", timestamp=True,
                               rename_fields={"levelname": "level", "name": "logger"})
                 if log_format == "json" else TextFormatter())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    logger = logging.getLogger("srchallenge")
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
