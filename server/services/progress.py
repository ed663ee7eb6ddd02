"""Where a running job is, as the trusted side sees it: the worker reports each stage it starts
(building and exporting a code submission, measuring it, scoring image k of n) on the job's row,
for the team (``SubmissionOut.stage``), ``srchallenge status`` and ``baseline measure --wait``.

Nothing here comes from the sandbox: the stage is what the worker itself is doing, so a team
cannot write its own progress. A report is best effort: a database hiccup costs one update,
never the job. Image-by-image reports are thinned to one a second; a new stage is always written.
"""

import logging
import re
import time
from collections.abc import Callable

from sqlalchemy import update

from server.db import session_scope
from server.models import BASELINE_PENDING, BaselineRecord, ScoringRun, Status

log = logging.getLogger("srchallenge.worker")
STAGE_CHARS = 200
MIN_INTERVAL_S = 1.0

StageReport = Callable[[str], None]
"""Called with the stage a job has reached, e.g. "scoring image 3 of 100"."""


def _reporter(write: Callable[[str], None]) -> StageReport:
    last = {"kind": "", "at": 0.0}

    def report(text: str) -> None:
        now, kind = time.monotonic(), re.sub(r"\d+", "#", text)
        count = re.search(r"(\d+) of (\d+)$", text)
        last_one = count is not None and count[1] == count[2]
        if kind == last["kind"] and now - last["at"] < MIN_INTERVAL_S and not last_one:
            return
        last.update(kind=kind, at=now)
        try:
            write(text[:STAGE_CHARS])
        except Exception as err:  # progress must never cost the job
            log.warning("reporting the stage %r failed: %s", text, err)

    return report


def run_stage_reporter(run_id: int, delivery: int | None = None) -> StageReport:
    """Reports on a scoring run, only while this delivery holds it running."""
    def write(text: str) -> None:
        guard = [ScoringRun.id == run_id, ScoringRun.status == Status.RUNNING]
        if delivery is not None:
            guard.append(ScoringRun.deliveries == delivery)
        with session_scope() as session:
            session.execute(update(ScoringRun).where(*guard).values(stage=text))
            session.commit()
    return _reporter(write)


def baseline_stage_reporter(record_id: int) -> StageReport:
    """Reports on a baseline measurement while it is pending."""
    def write(text: str) -> None:
        with session_scope() as session:
            session.execute(update(BaselineRecord).where(BaselineRecord.id == record_id,
                                                         BaselineRecord.status.in_(BASELINE_PENDING))
                            .values(stage=text))
            session.commit()
    return _reporter(write)
