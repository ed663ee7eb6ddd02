"""``srchallenge audit``: who changed baselines, bundles, data and schedules, and when."""

from typing import Annotated

import typer
from rich.table import Table

from server.cli.options import JsonOpt
from server.cli.output import console, print_json
from server.db import session_scope


def audit(
    target: Annotated[str | None, typer.Argument(help="COMPETITION or COMPETITION/PHASE (default: everything)")]
    = None,
    limit: Annotated[int, typer.Option(min=1, help="newest N events")] = 50,
    as_json: JsonOpt = False,
):
    """The audit log, newest first: baseline, bundle, data-set and schedule changes."""
    from server.services.audit import audit_events

    with session_scope() as session:
        rows = [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "target": e.target,
                 "summary": e.summary, "details": e.details} for e in audit_events(session, target, limit)]
    if as_json:
        print_json(rows)
        return
    table = Table(title="audit log" + (f" of {target}" if target else ""))
    for column in ("at", "by", "action", "what"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["at"][:19], row["actor"], row["action"], row["summary"])
    console.print(table if rows else "no audited change yet")
