"""``srchallenge phase``: open, close, schedule and limit a phase."""

from datetime import datetime
from typing import Annotated

import typer

from server.cli.backend import backend_for
from server.cli.options import JsonOpt, PhaseArg, ServerOpt, TokenOpt
from server.cli.output import console, fail, print_json, service_errors
from server.db import session_scope

app = typer.Typer(help="Open, close, schedule and limit a phase.", no_args_is_help=True)


def update_phase(path: str, **values) -> dict:
    """Set the phase's fields; returns its state after, as ``--json`` prints it."""
    from server.schemas_admin import AdminPhaseOut
    from server.services.competitions import get_phase_by_path

    with service_errors(), session_scope() as session:
        phase = get_phase_by_path(session, path)
        for name, value in values.items():
            setattr(phase, name, value)
        return AdminPhaseOut.of(phase).model_dump(mode="json")


@app.command("open")
def open_(phase: PhaseArg, as_json: JsonOpt = False):
    """Accept submissions to a phase (within its dates, if it has any: the dates are not changed,
    so a phase with a future opening date says so and opens then)."""
    shown = update_phase(phase, is_open=True)
    if as_json:
        print_json(shown)
        return
    if shown["state"].startswith("open"):
        console.print(f"{phase} is {shown['state']}", soft_wrap=True)
    else:
        console.print(f"{phase} is not open yet: {shown['state']}; its dates decide (`srchallenge phase "
                      f"schedule {phase} --opens none` opens it now)", soft_wrap=True)


@app.command("close")
def close(phase: PhaseArg, as_json: JsonOpt = False):
    """Refuse new submissions to a phase; queued ones are still scored."""
    shown = update_phase(phase, is_open=False)
    if as_json:
        print_json(shown)
        return
    console.print(f"{phase} is closed")


@app.command("set-limits")
def set_limits(
    phase: PhaseArg,
    per_day: Annotated[int | None, typer.Option(min=0, help="submissions per team per day; 0 for no limit")] = None,
    total: Annotated[int | None, typer.Option(min=0, help="submissions per team in all; 0 for no limit")] = None,
    failed_count: Annotated[bool | None, typer.Option(
        "--failed-count/--no-failed-count", help="whether the team's failed submissions use up its limits")] = None,
    as_json: JsonOpt = False,
):
    """Set a phase's submission limits per team (options left out stay as they are)."""
    values = {name: value or None for name, value in
              (("max_submissions_per_day", per_day), ("max_submissions_total", total)) if value is not None}
    if failed_count is not None:
        values["failed_submissions_count"] = failed_count
    if not values:
        fail("give --per-day N, --total N (0 removes a limit) and/or --[no-]failed-count")
    shown = update_phase(phase, **values)
    if as_json:
        print_json(shown)
        return
    console.print(f"{phase}: " + ", ".join(f"{name} = {'no limit' if value is None else value}"
                                           for name, value in values.items()))


def parse_instant(value: str, option: str) -> datetime | None:
    """'none' (remove the date) is None; a time without a zone is refused: an organizer's local
    midnight and UTC midnight are hours apart."""
    if value == "none":
        return None
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option} {value!r} is not an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z")
    if instant.tzinfo is None:
        fail(f"{option} {value} has no time zone: add Z (UTC) or an offset like +02:00")
    return instant


@app.command("schedule")
def schedule(
    phase: PhaseArg,
    opens: Annotated[str | None, typer.Option(help="ISO 8601 with a zone, e.g. 2026-12-01T00:00:00Z; "
                                                   "'none' removes the date")] = None,
    closes: Annotated[str | None, typer.Option(help="ISO 8601 with a zone; 'none' removes the date")] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
):
    """Set when a phase takes submissions; an upload outside the dates is refused, saying when."""
    from server.schemas_admin import ScheduleRequest
    from server.services.schedule import when

    if opens is None and closes is None:
        fail("give --opens and/or --closes (ISO 8601, or 'none' to remove a date)")
    given = {name: parse_instant(value, f"--{name.partition('_')[0]}")
             for name, value in (("opens_at", opens), ("closes_at", closes)) if value is not None}
    with service_errors():
        shown = backend_for(server, token).schedule(phase, ScheduleRequest(**given))
    if as_json:
        print_json(shown)
        return
    console.print(f"{phase}: opens {when(shown.opens_at) if shown.opens_at else 'any time'}, "
                  f"closes {when(shown.closes_at) if shown.closes_at else 'never'} — now {shown.state}",
                  soft_wrap=True)
