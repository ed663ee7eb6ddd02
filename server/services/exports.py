"""A phase's leaderboard as a file: shared by the download route and ``srchallenge leaderboard``.

Each track renders with scoring/export.py. Several tracks make one file: CSV rows carry their
track column already, JSON is a list of the per-track documents, and the text formats stack one
titled table per track. Every format marks a row whose figures were scored on an older hidden
set (``stale_note``: awaiting a rescore), as the web page and the JSON API do.
"""

import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from scoring.export import render_track, to_csv
from scoring.shown import RuntimeUnit, runtime_unit
from server.models import Competition, Phase
from server.services.entries import phase_track
from server.services.errors import NotFound
from server.services.datasets import version_numbers
from server.services.leaderboard import phase_leaderboard, stale_note

FORMATS = {  # format → (file extension, media type)
    "table": ("txt", "text/plain; charset=utf-8"),
    "csv": ("csv", "text/csv; charset=utf-8"),
    "json": ("json", "application/json"),
    "markdown": ("md", "text/markdown; charset=utf-8"),
    "latex": ("tex", "application/x-latex; charset=utf-8"),
}


def runtime_unit_of(competition: Competition) -> RuntimeUnit:
    """The bundle's ``display.runtime_unit`` (seconds for a competition created before it existed)."""
    return runtime_unit((competition.display or {}).get("runtime_unit", "s"))


@dataclass(frozen=True)
class LeaderboardFile:
    text: str
    filename: str
    media_type: str


def export_leaderboard(session: Session, phase: Phase, fmt: str, track: str | None = None) -> LeaderboardFile:
    if fmt not in FORMATS:
        raise NotFound(f"no export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if track is not None:
        phase_track(phase, track)
    boards = phase_leaderboard(session, phase, track)
    unit = runtime_unit_of(phase.competition)
    numbers = version_numbers(session, phase)
    stale = {row.entry.submission_id: note for board in boards for row in board.rows
             if row.entry.submission_id and (note := stale_note(row.entry, phase, numbers))}
    if fmt == "csv":
        text = to_csv([row for board in boards for row in board.rows], stale)
    elif fmt == "json":
        text = json.dumps({
            "competition": phase.competition.slug, "phase": phase.slug, "ranking_figures": phase.ranking_figures,
            "tracks": [json.loads(render_track(b.rows, b.track.rule, "json", phase.ranking_figures, unit, stale))
                       for b in boards],
        }, indent=2, ensure_ascii=False) + "\n"
    else:
        heading = {"table": "{}\n\n", "markdown": "## {}\n\n", "latex": ""}[fmt]
        text = "\n".join(heading.format(b.track.title or b.track.slug)
                         + render_track(b.rows, b.track.rule, fmt, phase.ranking_figures, unit, stale) for b in boards)
    extension, media_type = FORMATS[fmt]
    stem = "-".join([phase.competition.slug, phase.slug, *([track] if track else []), "leaderboard"])
    return LeaderboardFile(text, f"{stem}.{extension}", media_type)
