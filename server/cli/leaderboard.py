"""``srchallenge leaderboard``: a phase's ranked tracks printed as the download route serves them,
from this machine's database or, with ``--server URL``, from a deployment's public download."""

from typing import Annotated

import httpx
import typer

from server.cli.options import JsonOpt, PhaseOpt
from server.cli.output import fail, service_errors
from server.services.exports import FORMATS


def leaderboard(
    phase: PhaseOpt,
    track: Annotated[str | None, typer.Option(help="one track's slug (default: every track)")] = None,
    fmt: Annotated[str, typer.Option("--format", help=" | ".join(FORMATS))] = "table",
    as_json: Annotated[bool, typer.Option("--json", help="the same as --format json")] = False,
    server: Annotated[str | None, typer.Option(
        envvar="SRCHALLENGE_SERVER", help="a deployment's URL (the public board; no token needed); "
                                          "without it, this machine's database")] = None,
):
    """Print a phase's leaderboard as table, csv, json, markdown or latex."""
    if as_json and fmt not in ("table", "json"):
        fail(f"--json and --format {fmt} ask for two formats: give one")
    fmt = "json" if as_json else fmt
    typer.echo(remote_board(server, phase, fmt, track) if server else local_board(phase, fmt, track), nl=False)


def local_board(phase: str, fmt: str, track: str | None) -> str:
    from server.db import session_scope
    from server.services.competitions import get_phase_by_path
    from server.services.exports import export_leaderboard

    with service_errors(), session_scope() as session:
        return export_leaderboard(session, get_phase_by_path(session, phase), fmt, track).text


def remote_board(server: str, phase: str, fmt: str, track: str | None) -> str:
    """The deployment's own download (the route the competition page links), so the two never differ."""
    competition, _, phase_slug = phase.partition("/")
    try:
        response = httpx.get(f"{server.rstrip('/')}/competitions/{competition}/{phase_slug}/leaderboard.{fmt}",
                             params={"track": track} if track else None, timeout=60)
    except httpx.HTTPError as err:
        fail(f"{server}: {err}")
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        fail(f"{server} answered {response.status_code}: {detail}")
    return response.text
