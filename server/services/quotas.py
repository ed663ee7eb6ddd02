"""Submission limits per team and phase (Codalab-style: per day and in total).

The check runs twice: cheaply before an upload is read (so a team over its limit does not send
gigabytes for nothing) and again, atomically, just before the submission row is inserted: an
UPDATE on the team's row takes its row lock (PostgreSQL) or the write lock (SQLite) until commit,
so two concurrent uploads cannot both take the last slot.

Counted: every submission of the team in the phase, except cancelled ones, platform failures,
and — where the phase says failed submissions don't count — failed ones. The daily window is
the last 24 hours, so the next slot opens 24 h after the oldest counted submission in it.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from server.models import Phase, Status, Submission, Team, utcnow
from server.services.errors import Forbidden, TooMany

DAY = timedelta(hours=24)


def counted_submissions(phase: Phase, team: Team):
    query = select(Submission.created_at).where(
        Submission.phase_id == phase.id, Submission.team_id == team.id,
        Submission.status != Status.CANCELLED, Submission.platform_failure.is_(False))
    if not phase.failed_submissions_count:
        query = query.where(Submission.status != Status.FAILED)
    return query


IN_FLIGHT_RETRY_S = 30


def check_quota(session: Session, phase: Phase, team: Team, now: datetime | None = None, in_flight: int = 0) -> None:
    """Raise 403 (total limit) or 429 with Retry-After (daily limit) when no slot is free.

    ``in_flight``: the team's other uploads still streaming in; they would take slots first."""
    now = now or utcnow()
    if phase.max_submissions_total is not None:
        total = session.scalar(select(func.count()).select_from(counted_submissions(phase, team).subquery()))
        if total >= phase.max_submissions_total:
            raise Forbidden(f"your team has used all {phase.max_submissions_total} submissions of {phase.path}")
        if total + in_flight >= phase.max_submissions_total:
            raise _taken_by_uploads_in_flight(phase)
    if phase.max_submissions_per_day is not None:
        recent = sorted(session.scalars(counted_submissions(phase, team).where(Submission.created_at > now - DAY)))
        if len(recent) < phase.max_submissions_per_day <= len(recent) + in_flight:
            raise _taken_by_uploads_in_flight(phase)
        if len(recent) >= phase.max_submissions_per_day:
            opens = recent[len(recent) - phase.max_submissions_per_day] + DAY
            wait = max(int((opens - now).total_seconds()) + 1, 1)
            raise TooMany(f"your team has used its {phase.max_submissions_per_day} submissions of the last 24 h in "
                          f"{phase.path}; the next slot opens at {opens:%Y-%m-%d %H:%M:%S} UTC",
                          headers={"Retry-After": str(wait)})


def _taken_by_uploads_in_flight(phase: Phase) -> TooMany:
    return TooMany(f"your team's uploads still arriving would use its remaining submissions of {phase.path}; "
                   "send this one if one of them is refused", headers={"Retry-After": str(IN_FLIGHT_RETRY_S)})


def reserve_slot(session: Session, phase: Phase, team: Team) -> None:
    """Lock the team's row for this transaction, then check: the insert that follows is the slot."""
    session.execute(update(Team).where(Team.id == team.id).values(disabled=Team.disabled))
    check_quota(session, phase, team)
