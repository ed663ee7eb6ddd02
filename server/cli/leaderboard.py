"""``srchallenge leaderboard``: a phase's ranked tracks printed as the download route serves them."""

from typing import Annotated

import typer

from server.cli.options import JsonOpt, PhaseOpt
from server.cli.output import fail, service_errors
from server.db import session_scope
from server.services.competitions import get_phase_by_path
from server.services.exports import FORMATS, export_leaderboard


def leaderboard(
    phase: PhaseOpt,
    track: Annotated[str | None, typer.Option(help="one track's slug (default: every track)")] = None,
    fmt: Annotated[str, typer.Option("--format", help=" | ".join(FORMATS))] = "table",
    as_json: Annotated[bool, typer.Option("--json", help="the same as --format json")] = False,
):
    """Print a phase's leaderboard as table, csv, json, markdown or latex."""
    if as_json and fmt not in ("table", "json"):
        fail(f"--json and --format {fmt} ask for two formats: give one")
    fmt = "json" if as_json else fmt
    with service_errors(), session_scope() as session:
        exported = export_leaderboard(session, get_phase_by_path(session, phase), fmt, track)
    typer.echo(exported.text, nl=False)
