"""Holding code entries for organizer review, and the organizers' decisions.

A run that completes with stored-number figures over the competition's review limits
(``scoring/review.py``; the bundle's ``review:`` block) leaves its submission ``held``: shown
with its figures, unranked with that remark, until an organizer approves or rejects it. Every step
is a ``ReviewDecision`` row, so the submission's history shows who decided what and why. A
decision belongs to the submission (its files do not change), so a rescore keeps it.
"""

from sqlalchemy.orm import Session

from scoring.review import ReviewLimits, hold_reasons
from server.models import Competition, ReviewDecision, Submission
from server.services.errors import Conflict, ServiceError
from server.services.submissions import get_submission

DECISIONS = ("approved", "rejected")
REVIEW_LABELS = {"held": "held for organizer review", "approved": "approved by the organizers",
                 "rejected": "rejected by the organizers"}
REVIEW_STATES = tuple(REVIEW_LABELS)


def review_limits(competition: Competition) -> ReviewLimits:
    return ReviewLimits.from_mapping((competition.bundle or {}).get("review"))


def hold_if_needed(session: Session, submission: Submission, figures: dict) -> None:
    """Called as a run's figures become the submission's (not committed here)."""
    if submission.review in DECISIONS:
        return
    reasons = hold_reasons(figures.get("stored"), review_limits(submission.phase.competition))
    if reasons and submission.review != "held":
        note = "; ".join(reasons)
        submission.review, submission.review_note = "held", note
        session.add(ReviewDecision(submission_id=submission.id, decision="held", reason=note, decided_by="platform"))
    elif not reasons and submission.review == "held":
        submission.review, submission.review_note = None, None
        session.add(ReviewDecision(submission_id=submission.id, decision="released",
                                   reason="a new scoring run is within the review limits", decided_by="platform"))


def decide(session: Session, public_id: str, decision: str, reason: str, organizer: str) -> Submission:
    """An organizer's ``approved`` (ranked like any entry) or ``rejected`` (stays unranked with the
    reason, shown to the team). A decision can be changed later; each one is kept."""
    if decision not in DECISIONS:
        raise ServiceError(f"unknown decision {decision!r}; one of {', '.join(DECISIONS)}")
    submission = get_submission(session, public_id)
    if submission.review is None:
        raise Conflict(f"submission {public_id} is not held for review: nothing to {decision[:-1]}")
    reason = reason.strip()
    if not reason:
        if decision == "rejected":
            raise ServiceError("a rejection needs a reason: the team reads it")
        reason = "approved by the organizers"
    submission.review, submission.review_note = decision, reason
    session.add(ReviewDecision(submission_id=submission.id, decision=decision, reason=reason,
                               decided_by=f"organizer:{organizer}"))
    session.commit()
    session.refresh(submission)
    return submission


def unranked_remark(submission: Submission) -> str | None:
    """What the board says about an entry the review keeps unranked; None when it may rank."""
    if submission.review in ("held", "rejected"):
        return f"{REVIEW_LABELS[submission.review]}: {submission.review_note}"
    return None
