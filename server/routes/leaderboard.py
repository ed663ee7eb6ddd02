"""The public leaderboard of a phase, as JSON.

The JSON is rendered once per version of the board and served as bytes (``memoized``): everyone
refreshes this near a deadline, and rebuilding 300 rows through pydantic for each request would
cost more than everything else in it. A recent render is served without asking the database for
the version (``leaderboard_max_age_seconds``, server/recent.py, docs/benchmarks.md). While the
database is unreachable the last render is served, with ``as_of`` (and the ``Age`` header) saying
when it was made.
"""

import json

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.orm import Session

from scoring.shown import rule_values, shown_figures
from server.db import OUTAGE_ERRORS, get_sessionmaker
from server.models import Phase
from server.schemas import TrackOut
from server.services.competitions import get_phase
from server.services.datasets import version_numbers
from server.services.errors import NotFound
from server.services.leaderboard import memoized, phase_leaderboard, stale_note

router = APIRouter(prefix="/api/v1/phases/{competition}/{phase}", tags=["leaderboard"])


class RowOut(BaseModel):
    rank: int | None
    team: str
    is_baseline: bool
    psnr: float | None
    params: int | None
    runtime: float | None
    runtime_ratio: float | None
    runtime_to_baseline: float | None
    """The ratio the runtime constraint compares, as every output shows it (scoring/shown.py)."""
    runtime_self_reported: float | None
    runtime_baseline_self_reported: float | None
    gpu: str | None
    extra_data: bool | None
    submitted_at: datetime | None
    stored_numbers: int | None
    literals: int | None
    macs: int | None = None
    activations: int | None = None
    peak_memory_bytes: int | None = None
    rule: dict[str, float | int | None] = {}
    """The track rule's columns (scoring/shown.py ``rule_columns``): a rank sum's ranks, a weighted score's parts."""
    unranked_reason: str | None
    stale: str | None = None
    """Set when the figures were scored on an older version of the hidden set: why they may not hold."""


class TrackBoardOut(TrackOut):
    rows: list[RowOut]


class LeaderboardOut(BaseModel):
    competition: str
    phase: str
    ranking_figures: str
    tracks: list[TrackBoardOut]
    as_of: datetime | None = None
    """Set only while the database is unreachable: this is the last render, made at that time."""


@router.get("/leaderboard", response_model=LeaderboardOut)
async def leaderboard(competition: str, phase: str, request: Request, track: str | None = None):
    """Async so that a recent render is answered on the event loop with no session and no thread
    hop; renders (or memoized versions) are made in the thread pool."""
    body, kept_at = await request.app.state.recent_boards.get_or_kept(
        (competition, phase, track), lambda: run_in_threadpool(leaderboard_json, competition, phase, track),
        OUTAGE_ERRORS)
    if kept_at is None:
        return Response(body, media_type="application/json")
    board = json.loads(body) | {"as_of": kept_at.isoformat()}
    return Response(json.dumps(board), media_type="application/json", headers=kept_headers(kept_at))


def kept_headers(kept_at: datetime) -> dict[str, str]:
    """The HTTP mark of a render served from before an outage: its age (RFC 9111)."""
    return {"Age": str(max(int((datetime.now(UTC) - kept_at).total_seconds()), 0))}


def leaderboard_json(competition: str, phase_slug: str, track: str | None) -> bytes:
    with get_sessionmaker()() as session:
        phase = get_phase(session, competition, phase_slug)
        return memoized(session, phase, ("api json", track), lambda: render_leaderboard(session, phase, track))


def render_leaderboard(session: Session, phase: Phase, track: str | None) -> bytes:
    boards = phase_leaderboard(session, phase, track)
    if track is not None and not boards:
        raise NotFound(f"phase {phase.path} has no track {track!r}")
    numbers = version_numbers(session, phase)
    source = phase.ranking_figures
    return LeaderboardOut(
        competition=phase.competition.slug, phase=phase.slug, ranking_figures=phase.ranking_figures,
        tracks=[TrackBoardOut.of(b.track, rows=[
            RowOut(rank=row.rank, team=row.entry.team, is_baseline=row.entry.is_baseline, psnr=row.entry.psnr,
                   params=row.entry.params, runtime=row.entry.runtime, runtime_ratio=row.entry.runtime_ratio,
                   runtime_to_baseline=shown_figures(row.entry, phase.baseline_runtime, source).runtime_ratio,
                   runtime_self_reported=row.entry.runtime_self_reported,
                   runtime_baseline_self_reported=row.entry.runtime_baseline_self_reported, gpu=row.entry.gpu,
                   extra_data=row.entry.extra_data, submitted_at=row.entry.submitted_at,
                   stored_numbers=row.entry.stored_numbers, literals=row.entry.literals, macs=row.entry.macs,
                   activations=row.entry.activations, peak_memory_bytes=row.entry.peak_memory_bytes,
                   rule=rule_values(row, b.track.rule), unranked_reason=row.reason,
                   stale=stale_note(row.entry, phase, numbers))
            for row in b.rows]) for b in boards],
    ).model_dump_json().encode()
