"""Public web pages: the list of competitions and a competition's leaderboard, rendered on the server.

Everything works without JavaScript: track tabs and column sorting are links the server answers
(``?phase=&track=&sort=&dir=``); static/board.js only switches tabs in place when it can.
Sorting a column reorders the display; ranks stay those of the track's rule.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session

from scoring.export import MISSING, UNRANKED
from scoring.ranking import RankedRow
from scoring.review import describe_stored
from scoring.shown import (baseline_runtime_of, figure_labels, rule_columns, rule_values, runtime_text, shown_figures,
                           shows_team_runtime_apart)
from server.config import get_settings
from server.db import OUTAGE_ERRORS, get_sessionmaker
from server.deps import SessionDep
from server.models import Phase, Submission, Track
from server.services.competitions import get_competition, list_competitions
from server.services.datasets import inputs_unavailable, version_numbers
from server.services.errors import NotFound, ServiceError
from server.services.exports import runtime_unit_of
from server.services.leaderboard import memoized, phase_leaderboard, stale_note, standing_submissions
from server.services.plot import distinct_rows, pareto_svg, plottable
from server.services.review import REVIEW_LABELS
from server.services.schedule import duration, phase_window
from server.services.storage import Storage

router = APIRouter(tags=["pages"], include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")
templates.env.globals.update(UNRANKED=UNRANKED, MISSING=MISSING, REVIEW_LABELS=REVIEW_LABELS, phase_window=phase_window)
templates.env.filters["duration"] = duration
templates.env.filters["stored_text"] = describe_stored
templates.env.filters["figure"] = lambda value, pattern: MISSING if value is None else pattern.format(value)
templates.env.filters["yesno"] = lambda value: MISSING if value is None else ("Yes" if value else "No")
templates.env.filters["date"] = lambda value: value.strftime("%Y-%m-%d %H:%M UTC") if value else MISSING

COLUMNS = {  # sortable column → (heading, direction of its first click)
    "rank": ("#", "asc"), "team": ("Team", "asc"), "psnr": ("PSNR (dB)", "desc"), "params": ("Parameters", "asc"),
    "runtime": ("Runtime (s)", "asc"), "runtime_ratio": ("Runtime / baseline", "asc"),
    "runtime_self": ("Self-reported runtime (s)", "asc"), "gpu": ("Device", "asc"),
    "extra_data": ("Extra data", "desc"), "submitted_at": ("Submitted", "desc"),
}


def page_columns(source: str, unit: str = "s") -> dict[str, tuple[str, str]]:
    """``COLUMNS`` with the ranked figures' headings saying where they come from and the runtime's unit
    (scoring/shown.py); the team's own runtime has no column where it is the ranked one."""
    labels = figure_labels(source, unit)  # type: ignore[arg-type]
    columns = COLUMNS | {name: (labels[name], COLUMNS[name][1]) for name in ("params", "runtime", "runtime_ratio")}
    columns["runtime_self"] = (f"Self-reported runtime ({unit})", "asc")
    if not shows_team_runtime_apart(source):  # type: ignore[arg-type]
        del columns["runtime_self"]
    return columns


INFO_PAGES = {"overview": "Overview", "rules": "Rules", "data": "Data"}
"""The competition's pages beside its leaderboard (routes/pages_info.py), as their nav names them."""
EXPORT_FORMATS = {"table": "Text", "csv": "CSV", "json": "JSON", "markdown": "Markdown", "latex": "LaTeX"}


@dataclass(frozen=True)
class BoardRow:
    """One displayed row. ``params`` and ``runtime_ratio`` are the figures the phase ranks (measured or
    self-reported); ``params_other`` is the other source's count, shown beside it when it differs;
    ``stored_numbers`` what a re-run model stores besides parameters, shown beside them when any.
    ``gpu`` is where the ranked runtime was taken: in a measured phase the re-run's device (the
    baseline's measuring device for its row), else what the team reported."""

    rank: int | None
    reason: str | None
    team: str
    is_baseline: bool
    submission_id: str | None
    psnr: float | None
    params: int | None
    params_other: int | None
    runtime: float | None
    runtime_ratio: float | None
    runtime_self: float | None
    runtime_baseline_self: float | None
    gpu: str | None
    extra_data: bool | None
    submitted_at: datetime | None
    stored_numbers: int | None = None
    stale: str | None = None
    """Set when the figures were scored on an older version of the hidden set (``stale_note``)."""
    rule: dict[str, float | int | None] | None = None
    """The track rule's columns (``rule_columns``): a rank sum's ranks, a weighted score's parts."""
    runtime_baseline_same_job: float | None = None
    """A code re-run's baseline seconds, timed in its own job on its device: what its ratio divides by."""


def board_row(row: RankedRow, submission: Submission | None, phase: Phase, versions: dict[str, int],
              track: Track) -> BoardRow:
    entry = row.entry
    shown = shown_figures(entry, phase.baseline_runtime, phase.ranking_figures)
    other = None
    if submission is not None:
        other = submission.params if phase.ranking_figures == "self_reported" else submission.self_params
    measured = phase.ranking_figures == "measured"
    device = (phase.baseline_runtime_device if entry.is_baseline else entry.device) if measured else None
    return BoardRow(
        rank=row.rank, reason=row.reason, team=entry.team, is_baseline=entry.is_baseline,
        submission_id=entry.submission_id, psnr=entry.psnr, params=shown.params,
        params_other=other if other != shown.params else None,
        runtime=shown.runtime, runtime_ratio=shown.runtime_ratio,
        runtime_self=entry.runtime_self_reported, runtime_baseline_self=entry.runtime_baseline_self_reported,
        gpu=device or entry.gpu, extra_data=entry.extra_data, submitted_at=entry.submitted_at,
        stored_numbers=entry.stored_numbers, stale=stale_note(entry, phase, versions),
        rule=rule_values(row, track.rule),
        runtime_baseline_same_job=submission.runtime_baseline if measured and submission is not None else None,
    )


def sorted_rows(rows: list[BoardRow], column: str, descending: bool) -> list[BoardRow]:
    """Rows with the column's figure in the asked order; rows without one stay last either way."""
    def value(row: BoardRow):
        figure = getattr(row, column)
        return figure.casefold() if isinstance(figure, str) else figure

    present = sorted((r for r in rows if value(r) is not None), key=value, reverse=descending)
    return present + [r for r in rows if value(r) is None]


def page_url(path: str, **query: str | None) -> str:
    return path + "?" + urlencode({k: v for k, v in query.items() if v})


def render_error(request: Request, err: ServiceError) -> HTMLResponse:
    return templates.TemplateResponse(request, "error.html", {"message": err.message}, status_code=err.status_code)


@router.get("/", response_class=HTMLResponse)
def index(request: Request, session: SessionDep):
    return templates.TemplateResponse(request, "index.html", {"competitions": list_competitions(session)})


@router.get("/competitions/{slug}", response_class=HTMLResponse)
async def competition_page(request: Request, slug: str, phase: str | None = None, track: str | None = None,
                           sort: str | None = None, direction: str | None = Query(None, alias="dir")):
    """Served from a recent render like the JSON board (server/recent.py): async, so a recent one is
    answered with no session and no thread hop; while the database is unreachable, the last render
    with a line saying when it was made."""
    column = sort if sort in COLUMNS else None
    key = ("page", slug, phase, track, column, direction if direction in ("asc", "desc") else None)
    try:
        body, kept_at = await request.app.state.recent_boards.get_or_kept(
            key, lambda: run_in_threadpool(competition_html, *key[1:]), OUTAGE_ERRORS)
    except ServiceError as err:
        return render_error(request, err)
    if kept_at is not None:
        notice = (f'<main>\n<p class="kept-notice">The database is unavailable right now: this is the board as of '
                  f'{kept_at:%Y-%m-%d %H:%M:%S} UTC.</p>')
        body = body.replace(b"<main>", notice.encode(), 1)
    return HTMLResponse(body)


def competition_html(slug: str, phase: str | None, track: str | None, sort: str | None, direction: str | None) -> bytes:
    with get_sessionmaker()() as session:
        context = leaderboard_context(session, slug, phase, track, sort, direction)
        return templates.get_template("competition.html").render(context).encode()


def leaderboard_context(session: Session, slug: str, phase: str | None, track: str | None, sort: str | None,
                        direction: str | None) -> dict:
    competition = get_competition(session, slug)
    chosen = next((p for p in competition.phases if phase in (None, p.slug)), None)
    if chosen is None:
        raise NotFound(f"competition {slug} has no phase {phase or 'yet'}")
    boards = phase_leaderboard(session, chosen)
    unit = runtime_unit_of(competition)
    selected = track if any(b.track.slug == track for b in boards) else next((b.track.slug for b in boards), None)
    column = sort if sort in COLUMNS else None
    descending = (direction or COLUMNS.get(column or "", ("", "asc"))[1]) == "desc"
    rows, plot, unplotted = memoized(session, chosen, ("page", column, descending),
                                     lambda: board_tables(session, chosen, boards, column, descending))
    tracks = [(board.track, rows[board.track.slug]) for board in boards]
    base = f"/competitions/{slug}"

    def sort_link(track_slug: str, name: str) -> str:
        next_dir = ("asc" if descending else "desc") if name == column else COLUMNS[name][1]
        return page_url(base, phase=chosen.slug, track=track_slug, sort=name, dir=next_dir) + f"#track-{track_slug}"

    return {
        "competition": competition, "phase": chosen, "tracks": tracks, "selected": selected,
        "columns": page_columns(chosen.ranking_figures, unit), "rule_columns": lambda t: rule_columns(t.rule),
        "runtime": lambda seconds: runtime_text(seconds, unit, MISSING), "unit": unit,
        "formats": EXPORT_FORMATS, "sort": column, "descending": descending, "sort_link": sort_link,
        "tab_link": lambda t: page_url(base, phase=chosen.slug, track=t, sort=column, dir=direction),
        "phase_link": lambda p: page_url(base, phase=p),
        "plot": plot, "unplotted": unplotted,
        "page": "leaderboard", "info_pages": INFO_PAGES,
        "inputs_unavailable": inputs_unavailable(Storage.from_settings(get_settings()), chosen),
    }


def board_tables(session: Session, phase: Phase, boards, column: str | None, descending: bool):
    """Each track's displayed rows (by slug), the plot and how many rows it leaves out: what the board's
    version decides (``memoized``), the costly part of the page."""
    submissions = {s.public_id: s for track_subs in standing_submissions(session, phase).values() for s in track_subs}
    versions = version_numbers(session, phase)
    tracks = {}
    for board in boards:
        rows = [board_row(r, submissions.get(r.entry.submission_id or ""), phase, versions, board.track)
                for r in board.rows]
        tracks[board.track.slug] = sorted_rows(rows, column, descending) if column else rows
    plotted = distinct_rows(r for b in boards for r in b.rows)
    return (tracks, Markup(pareto_svg(plotted, f"{phase.title}: PSNR against runtime / baseline")),
            sum(not plottable(r, baseline_runtime_of(plotted)) for r in plotted))
