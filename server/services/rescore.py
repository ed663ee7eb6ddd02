"""Rescoring: queue submissions again on the real queue, safely.

Safe means: the figures a submission shows stay until a new run has scored (runs.complete_run
swaps them in; runs.fail_run keeps them), so a failed rescore changes nothing but its own row;
a submission whose run is still queued or running gets that run back, not a second one; and every
run stays in the submission's history with who asked for it and the versions that scored it.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.models import RUN_PENDING, Phase, ScoringRun, Status, Submission, Team
from server.schemas_admin import FiguresOut, RescoreItemOut, RunOut
from server.services.competitions import get_phase_by_path
from server.services.errors import Conflict, NotFound, ServiceError
from server.services.queue import enqueue_run
from server.services.submissions import add_scoring_run, get_submission, queue_for
from server.services.teams import get_team

log = logging.getLogger("srchallenge.rescore")
RESCORABLE_KINDS = ("results", "code")
"""Imported entries have no file to score again; they are replaced by importing again."""


@dataclass(frozen=True)
class RescoreScope:
    team: str | None = None
    phase: str | None = None
    submission: str | None = None
    everyone: bool = False


def submissions_in_scope(session: Session, scope: RescoreScope) -> list[Submission]:
    """The submissions a rescore request names; an empty or unclear request is an error."""
    phase = get_phase_by_path(session, scope.phase) if scope.phase else None
    team = get_team(session, scope.team) if scope.team else None
    if scope.submission:
        submission = get_submission(session, scope.submission)
        if (team and submission.team_id != team.id) or (phase and submission.phase_id != phase.id):
            raise NotFound(f"submission {scope.submission} is not {describe(team, phase)}'s")
        check_rescorable(submission)
        return [submission]
    if scope.everyone and team:
        raise ServiceError("give either --team or --all, not both")
    if scope.everyone and phase is None:
        raise ServiceError("--all rescores a whole phase: give --phase COMPETITION/PHASE")
    if not scope.everyone and team is None:
        raise ServiceError("say whose submissions to rescore: --team NAME, --submission ID, or --phase P --all")
    query = select(Submission).where(Submission.kind.in_(RESCORABLE_KINDS), Submission.status != Status.CANCELLED)
    if team is not None:
        query = query.where(Submission.team_id == team.id)
    if phase is not None:
        query = query.where(Submission.phase_id == phase.id)
    found = list(session.scalars(query.order_by(Submission.created_at, Submission.id)))
    if not found:
        raise NotFound(f"{describe(team, phase)} has no uploaded submissions to rescore "
                       "(imported and cancelled ones are not rescored)")
    return found


def describe(team: Team | None, phase: Phase | None) -> str:
    if team and phase:
        return f"team {team.name} in {phase.path}"
    return f"team {team.name}" if team else f"phase {phase.path}" if phase else "the request"


def check_rescorable(submission: Submission) -> None:
    if submission.kind not in RESCORABLE_KINDS:
        raise Conflict(f"submission {submission.public_id} was imported ({submission.kind}): "
                       "there is no file to score again; import its figures again instead")
    if submission.status == Status.CANCELLED:
        raise Conflict(f"submission {submission.public_id} was cancelled: {submission.reason}")


def pending_run(session: Session, submission: Submission) -> ScoringRun | None:
    return session.scalar(select(ScoringRun).where(ScoringRun.submission_id == submission.id,
                                                   ScoringRun.status.in_(RUN_PENDING)).order_by(ScoringRun.attempt))


def rescore_one(session: Session, submission: Submission, requested_by: str) -> RescoreItemOut:
    """Commit a new queued run (or find the pending one), then wake a worker.

    Two organizers rescoring at once both try attempt n+1; the unique (submission, attempt)
    constraint lets one win, and the other gets the winner's run back as pending.
    """
    old = FiguresOut.of(submission)
    run = pending_run(session, submission)
    already_pending = run is not None
    if run is None:
        try:
            run = add_scoring_run(session, submission, requested_by)
            if submission.current_run_id is None:  # never scored: show it as waiting, not as failed
                submission.status, submission.reason, submission.finished_at = Status.SUBMITTED, None, None
            session.commit()
        except IntegrityError:
            session.rollback()
            run, already_pending = pending_run(session, submission), True
            if run is None:
                raise Conflict(f"submission {submission.public_id} changed while queueing it; try again") from None
    sent = True
    if not already_pending:
        try:
            enqueue_run(run.id, queue_for(submission))
        except Exception as err:  # the database holds the run; the reaper sends it again
            log.warning("run %s is queued but the broker refused it: %s", run.id, err,
                        extra={"submission": submission.public_id, "run": run.id})
            sent = False
    return RescoreItemOut(submission=submission.public_id, team=submission.team.name, kind=submission.kind,
                          queue=queue_for(submission), already_pending=already_pending, sent=sent, old=old,
                          run=RunOut.of(run))


def rescore(session: Session, scope: RescoreScope, requested_by: str) -> list[RescoreItemOut]:
    """One commit per submission: a failure half-way leaves the earlier ones queued, none twice."""
    return [rescore_one(session, submission, requested_by) for submission in submissions_in_scope(session, scope)]


def runs_by_id(session: Session, run_ids: list[int]) -> list[RunOut]:
    """Fresh reads of the given runs (what ``rescore --wait`` polls), in the order asked."""
    session.expire_all()
    found = {run.id: run for run in session.scalars(select(ScoringRun).where(ScoringRun.id.in_(run_ids)))}
    missing = [run_id for run_id in run_ids if run_id not in found]
    if missing:
        raise NotFound(f"no scoring run {missing[0]}")
    return [RunOut.of(found[run_id]) for run_id in run_ids]
