"""``srchallenge audit``: who changed baselines, bundles, data and schedules, and when."""

from typing import Annotated

import typer
from rich.table import Table

from server.cli.backend import backend_for
from server.cli.options import JsonOpt, ServerOpt, TokenOpt
from server.cli.output import console, print_json, service_errors
from server.schemas_admin import AUDIT_MAX_EVENTS


def audit(
    target: Annotated[str | None, typer.Argument(help="COMPETITION or COMPETITION/PHASE (default: everything)")]
    = None,
    limit: Annotated[int, typer.Option(min=1, max=AUDIT_MAX_EVENTS, help="newest N events")] = 50,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
):
    """The audit log, newest first: baseline, bundle, data-set and schedule changes."""
    with service_errors():
        rows = [event.model_dump(mode="json") for event in backend_for(server, token).audit(target, limit)]
    if as_json:
        print_json(rows)
        return
    table = Table(title="audit log" + (f" of {target}" if target else ""))
    for column in ("at", "by", "action", "what"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["at"][:19], row["actor"], row["action"], row["summary"])
    console.print(table if rows else "no audited change yet")
