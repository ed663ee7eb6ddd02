"""``srchallenge phase``: open, close and limit a phase."""

from typing import Annotated

import typer

from server.cli.options import PhaseArg
from server.cli.output import console, fail, service_errors
from server.db import session_scope

app = typer.Typer(help="Open, close and limit a phase.", no_args_is_help=True)


def update_phase(path: str, **values) -> None:
    from server.services.competitions import get_phase_by_path

    with service_errors(), session_scope() as session:
        phase = get_phase_by_path(session, path)
        for name, value in values.items():
            setattr(phase, name, value)


@app.command("open")
def open_(phase: PhaseArg):
    """Accept submissions to a phase."""
    update_phase(phase, is_open=True)
    console.print(f"{phase} is open")


@app.command("close")
def close(phase: PhaseArg):
    """Refuse new submissions to a phase; queued ones are still scored."""
    update_phase(phase, is_open=False)
    console.print(f"{phase} is closed")


@app.command("set-limits")
def set_limits(
    phase: PhaseArg,
    per_day: Annotated[int | None, typer.Option(min=0, help="submissions per team per day; 0 for no limit")] = None,
    total: Annotated[int | None, typer.Option(min=0, help="submissions per team in all; 0 for no limit")] = None,
    failed_count: Annotated[bool | None, typer.Option(
        "--failed-count/--no-failed-count", help="whether the team's failed submissions use up its limits")] = None,
):
    """Set a phase's submission limits per team (options left out stay as they are)."""
    values = {name: value or None for name, value in
              (("max_submissions_per_day", per_day), ("max_submissions_total", total)) if value is not None}
    if failed_count is not None:
        values["failed_submissions_count"] = failed_count
    if not values:
        fail("give --per-day N, --total N (0 removes a limit) and/or --[no-]failed-count")
    update_phase(phase, **values)
    console.print(f"{phase}: " + ", ".join(f"{name} = {'no limit' if value is None else value}"
                                           for name, value in values.items()))
