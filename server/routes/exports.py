"""Leaderboard downloads linked from the competition page (CSV, JSON, Markdown, LaTeX, text)."""

from fastapi import APIRouter
from fastapi.responses import Response

from server.deps import SessionDep
from server.services.competitions import get_phase
from server.services.exports import export_leaderboard

router = APIRouter(tags=["pages"])


@router.get("/competitions/{competition}/{phase}/leaderboard.{fmt}")
def download_leaderboard(competition: str, phase: str, fmt: str, session: SessionDep, track: str | None = None):
    """One file for the phase, or for one track with `?track=`; fmt is table, csv, json, markdown or latex."""
    exported = export_leaderboard(session, get_phase(session, competition, phase), fmt, track)
    return Response(exported.text, media_type=exported.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'})
