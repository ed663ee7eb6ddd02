"""Which of a team's scored submissions stands on each track (a ``TrackEntry``; by default its latest)."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Phase, Status, Submission, Team, Track, TrackEntry
from server.services.errors import Conflict, Forbidden, NotFound, ServiceError
from server.services.leaderboard import standing_submissions
from server.services.schedule import phase_window
from server.services.submissions import get_team_submission, list_team_submissions


@dataclass
class TrackChoice:
    """What the team page shows for one track: what stands, whether the team chose it, what it may pick."""

    track: Track
    standing: Submission | None
    chosen: bool
    candidates: list[Submission]


def phase_track(phase: Phase, slug: str) -> Track:
    track = next((t for t in phase.tracks if t.slug == slug), None)
    if track is None:
        raise NotFound(f"phase {phase.path} has no track {slug!r}; it has {', '.join(t.slug for t in phase.tracks)}")
    return track


def choose_entry(session: Session, team: Team, phase: Phase, track_slug: str, submission_id: str) -> TrackEntry:
    """Make ``submission_id`` the team's entry on a track. Entries are final once the phase closes,
    so no team can pick its best submission after seeing everyone's results."""
    track = phase_track(phase, track_slug)
    window = phase_window(phase)
    if not window.open:
        raise Forbidden(f"{window.reason}; its entries are final")
    submission = get_team_submission(session, submission_id, team)
    if submission.phase_id != phase.id:
        raise ServiceError(f"submission {submission_id} belongs to phase {submission.phase.path}, not {phase.path}")
    if submission.status != Status.SCORED:
        raise Conflict(f"submission {submission_id} is {submission.status}; only a scored submission can stand")
    if track.slug not in submission.tracks:
        raise ServiceError(f"submission {submission_id} was entered in {', '.join(submission.tracks)}, "
                           f"not in {track.slug}")
    entry = session.scalar(select(TrackEntry).where(TrackEntry.team_id == team.id, TrackEntry.track_id == track.id))
    if entry is None:
        entry = TrackEntry(team_id=team.id, track_id=track.id, submission_id=submission.id)
        session.add(entry)
    else:
        entry.submission_id = submission.id
    session.flush()
    return entry


def clear_entry(session: Session, team: Team, phase: Phase, track_slug: str) -> None:
    """Undo the team's choice on a track: its latest scored submission stands again. Allowed while
    the phase is open, as choosing is; clearing a track with no choice does nothing."""
    track = phase_track(phase, track_slug)
    window = phase_window(phase)
    if not window.open:
        raise Forbidden(f"{window.reason}; its entries are final")
    entry = session.scalar(select(TrackEntry).where(TrackEntry.team_id == team.id, TrackEntry.track_id == track.id))
    if entry is not None:
        session.delete(entry)
        session.flush()


def team_choices(session: Session, team: Team, phase: Phase) -> list[TrackChoice]:
    standing = standing_submissions(session, phase)
    chosen = {entry.track_id: entry.submission_id for entry in session.scalars(
        select(TrackEntry).join(Track).where(TrackEntry.team_id == team.id, Track.phase_id == phase.id))}
    scored = [s for s in list_team_submissions(session, team, phase) if s.status == Status.SCORED]
    choices = []
    for track in phase.tracks:
        mine = next((s for s in standing[track.slug] if s.team_id == team.id), None)
        choices.append(TrackChoice(track, mine, mine is not None and chosen.get(track.id) == mine.id,
                                   [s for s in scored if track.slug in s.tracks]))
    return choices
