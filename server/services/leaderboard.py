"""Leaderboard rows of a phase: which submission stands for each team on each track, ranked by
the pure rules in scoring/ranking.py.

Ranked rows (and what routes render from them, see ``memoized``) are cached per phase and keyed
by ``board_version``: loading every scored submission of a phase costs hundreds of milliseconds
with 10,000 in the database, the version two statements over indexes (docs/benchmarks.md). A
submission enters or leaves the board, or changes its figures, only through a scoring run finishing
(scored, re-scored, imported: ``server/services/runs.py``) or an organizer's review decision
(``server/services/review.py``). So the version holds the newest submission, run and review
decision ids and the number of runs not yet finished (a run that finishes lowers it; one
that is added raises the newest id), the phase's track entries, and the phase's, its tracks' and
its competition's ranking settings. Team names are not in it: a team cannot be renamed. A writer
that changed a scored submission's figures without a run would not be seen.
"""

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, bindparam, func, select
from sqlalchemy.orm import Session, joinedload

from scoring.ranking import BaselineFigures, Entry, RankedRow, Tolerances, rank_track, select_figures
from server.models import (RUN_PENDING, Competition, Phase, ReviewDecision, ScoringRun, Status, Submission, Track,
                           TrackEntry)
from server.services.errors import Conflict
from server.services.review import unranked_remark

T = TypeVar("T")


@dataclass
class TrackBoard:
    track: Track
    rows: list[RankedRow]


def phase_baseline(phase: Phase) -> BaselineFigures:
    """The baseline row's figures; a phase without them cannot be ranked (no silent defaults)."""
    competition = phase.competition
    if phase.baseline_runtime is None or (phase.baseline_psnr is None and not phase.baseline_psnr_note):
        raise Conflict(f"phase {phase.path} has no baseline PSNR and runtime yet: set them in the bundle "
                       "or with `srchallenge baseline set`")
    return BaselineFigures(psnr=phase.baseline_psnr, params=phase.baseline_params, runtime=phase.baseline_runtime,
                           name=competition.baseline_name, psnr_note=phase.baseline_psnr_note,
                           macs=competition.baseline_macs, activations=competition.baseline_activations,
                           peak_memory_bytes=competition.baseline_peak_memory_bytes)


def standing_submissions(session: Session, phase: Phase) -> dict[str, list[Submission]]:
    """Per track slug: each team's chosen submission, or else its latest scored one on that track."""
    scored = list(session.scalars(
        select(Submission).options(joinedload(Submission.team))
        .where(Submission.phase_id == phase.id, Submission.status == Status.SCORED)
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
        stored_numbers=submission.stored_numbers, literals=submission.literals, held=unranked_remark(submission),
        macs=submission.macs, activations=submission.activations,
        peak_memory_bytes=submission.peak_memory_bytes, device=submission.device,
        uses_gpu_self_reported=submission.self_uses_gpu,
        dataset_version=submission.dataset_version,
    )


def stale_note(entry: Entry, phase: Phase, numbers: dict[str, int]) -> str | None:
    """Why a row's figures may not hold for the phase's current hidden set (None: they do).
    ``numbers``: digest → version number (``datasets.version_numbers``)."""
    return None if entry.is_baseline else scored_on_older_set(entry.dataset_version, phase, numbers)


def scored_on_older_set(dataset_version: str | None, phase: Phase, numbers: dict[str, int]) -> str | None:
    """The one wording of stale figures (the board, the exports, the team page): scored on the
    hidden set ``dataset_version``, while the phase now holds another."""
    if None in (dataset_version, phase.dataset_version) or dataset_version == phase.dataset_version:
        return None
    old = numbers.get(dataset_version)
    return (f"scored on {f'version {old}' if old else 'an older version'} of the hidden set, now version "
            f"{numbers.get(phase.dataset_version, '?')}: awaiting a rescore")


_VERSION = (
    select(Phase.baseline_psnr, Phase.baseline_psnr_note, Phase.baseline_params, Phase.baseline_runtime,
           Phase.ranking_figures, Phase.dataset_version, Phase.psnr_threshold,
           Competition.baseline_name, Competition.baseline_macs, Competition.baseline_activations,
           Competition.baseline_peak_memory_bytes, Competition.baseline_ranked, Competition.display,
           Competition.tolerances,
           select(func.max(Submission.id)).scalar_subquery(), select(func.max(ScoringRun.id)).scalar_subquery(),
           select(func.count()).where(ScoringRun.status.in_(RUN_PENDING)).scalar_subquery(),
           select(func.max(ReviewDecision.id)).scalar_subquery())
    .join(Competition, Competition.id == Phase.competition_id)
    .where(Phase.id == bindparam("phase_id"))
)
_TRACKS_AND_ENTRIES = (
    select(Track.id, Track.slug, Track.kind, Track.rank_by, Track.tie_break, Track.bounded, Track.figures,
           Track.weights, Track.title, TrackEntry.id, TrackEntry.submission_id)
    .outerjoin(TrackEntry, TrackEntry.track_id == Track.id)
    .where(Track.phase_id == bindparam("phase_id"))
    .order_by(Track.id, TrackEntry.id)
)
"""Built once: constructing a statement costs about as much as running it on SQLite."""


def board_version(session: Session, phase: Phase) -> tuple:
    """Changes whenever the phase's ranked rows may change (see the module docstring)."""
    *settings, display, tolerances, newest_submission, newest_run, unfinished, newest_review = session.execute(
        _VERSION, {"phase_id": phase.id}).one()
    tracks = session.execute(_TRACKS_AND_ENTRIES, {"phase_id": phase.id}).all()
    return (tuple(settings), json.dumps([display, tolerances], sort_keys=True), newest_submission, newest_run,
            unfinished, newest_review, tuple(json.dumps(row[:-2]) + repr(row[-2:]) for row in tracks))


_memo: WeakKeyDictionary[Engine, dict[int, tuple[tuple, dict[Hashable, Any]]]] = WeakKeyDictionary()
"""Database → phase id → (board_version, values built from that version of the board, by key)."""


def memoized(session: Session, phase: Phase, key: Hashable, build: Callable[[], T]) -> T:
    """``build()``, computed once per version of the phase's board (per process) and then shared:
    what it returns must not be changed by callers. An exception from ``build`` is not cached."""
    version = board_version(session, phase)
    phases = _memo.setdefault(session.get_bind().engine, {})
    cached = phases.get(phase.id)
    if cached is None or cached[0] != version:
        cached = phases[phase.id] = (version, {})
    if key not in cached[1]:
        cached[1][key] = build()
    return cached[1][key]


def _rank_phase(session: Session, phase: Phase) -> dict[str, list[RankedRow]]:
    standing = standing_submissions(session, phase)
    baseline = phase_baseline(phase)
    tolerances = Tolerances.from_mapping(phase.competition.tolerances)
    ranked = {}
    for track in phase.tracks:
        entries = [select_figures(entry_of(s, track.slug), phase.ranking_figures) for s in standing[track.slug]]
        ranked[track.slug] = rank_track(entries, track.rule, baseline, tolerances, psnr_threshold=phase.psnr_threshold,
                                        baseline_ranked=phase.competition.baseline_ranked)
    return ranked


def phase_leaderboard(session: Session, phase: Phase, track_slug: str | None = None) -> list[TrackBoard]:
    ranked = memoized(session, phase, "ranked rows", lambda: _rank_phase(session, phase))
    return [TrackBoard(track, ranked[track.slug]) for track in phase.tracks
            if track_slug is None or track.slug == track_slug]
