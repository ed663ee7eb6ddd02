"""Submissions as the organizers see them: any team's, filtered; and cancelling one.

A cancelled submission is final: its pending runs become ``cancelled`` too, so a worker that
has not claimed the run skips it, and one already running finds its completion refused by the
guards in runs.py (``complete_run`` and ``fail_run`` only move runs that are still running).
"""

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.models import RUN_PENDING, SUBMISSION_PENDING, SUBMISSION_STATUSES, ScoringRun, Status, Submission, utcnow
from server.services.competitions import get_phase_by_path
from server.services.errors import Conflict, ServiceError
from server.services.review import REVIEW_STATES
from server.services.submissions import get_submission
from server.services.teams import get_team



def list_submissions(session: Session, phase: str | None = None, team: str | None = None,
                     status: str | None = None, limit: int = 200, review: str | None = None) -> list[Submission]:
    """Newest first; ``phase`` is COMPETITION/PHASE, ``team`` a team name, ``review`` held, approved or rejected."""
    query = select(Submission)
    if phase:
        query = query.where(Submission.phase_id == get_phase_by_path(session, phase).id)
    if team:
        query = query.where(Submission.team_id == get_team(session, team).id)
    if status:
        if status not in SUBMISSION_STATUSES:
            raise ServiceError(f"unknown status {status!r}; one of {', '.join(SUBMISSION_STATUSES)}")
        query = query.where(Submission.status == status)
    if review:
        if review not in REVIEW_STATES:
            raise ServiceError(f"unknown review state {review!r}; one of {', '.join(REVIEW_STATES)}")
        query = query.where(Submission.review == review)
    return list(session.scalars(query.order_by(Submission.created_at.desc(), Submission.id.desc()).limit(limit)))


def cancel_submission(session: Session, public_id: str, reason: str) -> Submission:
    """``submitted``/``running`` → ``cancelled`` with its pending runs; scored work is never undone.

    Runs are updated before the submission, in the order complete_run takes its locks, so a
    worker finishing at the same moment either wins (and the cancel is refused) or loses.
    """
    submission = get_submission(session, public_id)
    reason = reason.strip() or "cancelled by the organizers"
    now = utcnow()
    session.execute(update(ScoringRun)
                    .where(ScoringRun.submission_id == submission.id, ScoringRun.status.in_(RUN_PENDING))
                    .values(status=Status.CANCELLED, reason=reason, finished_at=now))
    cancelled = session.execute(update(Submission)
                                .where(Submission.id == submission.id, Submission.status.in_(SUBMISSION_PENDING))
                                .values(status=Status.CANCELLED, reason=reason, finished_at=now)).rowcount
    if not cancelled:
        session.rollback()
        session.refresh(submission)
        raise Conflict(f"submission {public_id} is {submission.status}; only a submitted or running one "
                       "can be cancelled (rescore or a newer submission replaces scored figures)")
    session.commit()
    session.expire_all()
    return submission
