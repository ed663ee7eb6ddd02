"""Leaderboard rows of a phase: which submission stands for each team on each track, ranked by
the pure rules in scoring/ranking.py."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from scoring.ranking import BaselineFigures, Entry, RankedRow, Tolerances, TrackRule, rank_track, select_figures
from server.models import Phase, Submission, Track, TrackEntry
from server.services.errors import Conflict


@dataclass
class TrackBoard:
    track: Track
    rows: list[RankedRow]


def phase_baseline(phase: Phase) -> BaselineFigures:
    """The baseline row's figures; a phase without them cannot be ranked (no silent defaults)."""
    competition = phase.competition
    if phase.baseline_psnr is None or phase.baseline_runtime is None:
        raise Conflict(f"phase {phase.path} has no baseline PSNR and runtime yet: set them in the bundle")
    return BaselineFigures(psnr=phase.baseline_psnr, params=competition.baseline_params,
                           runtime=phase.baseline_runtime, name=competition.baseline_name)


def standing_submissions(session: Session, phase: Phase) -> dict[str, list[Submission]]:
    """Per track slug: each team's chosen submission, or else its latest scored one on that track."""
    scored = list(session.scalars(
        select(Submission).options(joinedload(Submission.team))
        .where(Submission.phase_id == phase.id, Submission.status == "scored")
        .order_by(Submission.created_at, Submission.id)
    ))
    by_id = {s.id: s for s in scored}
    chosen = {(c.team_id, c.track_id): by_id.get(c.submission_id) for c in session.scalars(
        select(TrackEntry).where(TrackEntry.track_id.in_([t.id for t in phase.tracks])))}
    standing: dict[str, list[Submission]] = {}
    for track in phase.tracks:
        latest: dict[int, Submission] = {}
        for submission in scored:
            if track.slug in submission.tracks:
                latest[submission.team_id] = submission
        for (team_id, track_id), submission in chosen.items():
            if track_id == track.id and submission is not None:
                latest[team_id] = submission
        standing[track.slug] = list(latest.values())
    return standing


def entry_of(submission: Submission, track: str) -> Entry:
    return Entry(
        team=submission.team.name, track=track, psnr=submission.psnr, params=submission.params,
        runtime=submission.runtime, runtime_ratio=submission.runtime_ratio,
        params_self_reported=submission.self_params, runtime_self_reported=submission.self_runtime,
        runtime_baseline_self_reported=submission.self_runtime_baseline, gpu=submission.gpu,
        extra_data=submission.extra_data, description=submission.description or "",
        submitted_at=submission.created_at, submission_id=submission.public_id,
    )


def phase_leaderboard(session: Session, phase: Phase, track_slug: str | None = None) -> list[TrackBoard]:
    standing = standing_submissions(session, phase)
    baseline = phase_baseline(phase)
    tolerances = Tolerances.from_mapping(phase.competition.tolerances)
    boards = []
    for track in phase.tracks:
        if track_slug is not None and track.slug != track_slug:
            continue
        rule = TrackRule(slug=track.slug, rank_by=track.rank_by, tie_break=tuple(track.tie_break), title=track.title)
        entries = [select_figures(entry_of(s, track.slug), phase.ranking_figures) for s in standing[track.slug]]
        boards.append(TrackBoard(track, rank_track(entries, rule, baseline, tolerances)))
    return boards
