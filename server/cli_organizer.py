"""Organizer commands on this machine's database: organizer tokens, teams on/off, competitions,
phases, the baseline, and results measured elsewhere."""

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from server.cli_app import PhaseOpt, app, competition_app, console, err_console, fail, team_app
from server.cli_backend import JsonOpt, organizer_errors
from server.db import session_scope

organizer_app = typer.Typer(help="Organizers and their API tokens (sro_…).", no_args_is_help=True)
phase_app = typer.Typer(help="Open, close and limit a phase.", no_args_is_help=True)
baseline_app = typer.Typer(help="The baseline's figures of a phase.", no_args_is_help=True)
results_app = typer.Typer(help="Entries measured elsewhere.", no_args_is_help=True)
app.add_typer(organizer_app, name="organizer")
app.add_typer(phase_app, name="phase")
app.add_typer(baseline_app, name="baseline")
app.add_typer(results_app, name="results")


@organizer_app.command("create")
def organizer_create(name: str):
    """Create an organizer (or re-issue a revoked one) and print its token, shown once."""
    from server.services.organizers import create_organizer

    with organizer_errors(), session_scope() as session:
        _organizer, token = create_organizer(session, name)
    console.print(f"organizer {name} created; token for --token or SRCHALLENGE_ORGANIZER_TOKEN (shown once):")
    print(token)


@organizer_app.command("revoke")
def organizer_revoke(name: str):
    """Revoke an organizer's token at once."""
    from server.services.organizers import revoke_organizer

    with organizer_errors(), session_scope() as session:
        revoke_organizer(session, name)
    console.print(f"organizer {name} revoked")


@organizer_app.command("list")
def organizer_list(as_json: JsonOpt = False):
    """List organizers and whether their token is revoked."""
    from server.services.organizers import list_organizers

    with session_scope() as session:
        rows = [{"name": o.name, "created_at": o.created_at.isoformat(),
                 "revoked_at": o.revoked_at.isoformat() if o.revoked_at else None} for o in list_organizers(session)]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        console.print(f"{row['name']}{' (revoked)' if row['revoked_at'] else ''}")


def set_team_disabled(name: str, disabled: bool) -> None:
    from server.services.teams import get_team

    with organizer_errors(), session_scope() as session:
        get_team(session, name).disabled = disabled
    console.print(f"team {name} {'disabled: its token is refused' if disabled else 'enabled'}")


@team_app.command("disable")
def team_disable(name: str):
    """Refuse a team's token (uploads and views); its scored entries stay on the leaderboard."""
    set_team_disabled(name, True)


@team_app.command("enable")
def team_enable(name: str):
    """Accept a disabled team's token again."""
    set_team_disabled(name, False)


@competition_app.command("show")
def competition_show(slug: str, as_json: JsonOpt = False):
    """A competition's baseline, tolerances, and each phase's state, limits and tracks."""
    from server.schemas import PhaseOut
    from server.services.competitions import get_competition

    with organizer_errors(), session_scope() as session:
        competition = get_competition(session, slug)
        phases = [{**PhaseOut.of(p).model_dump(), "baseline_runtime_note": p.baseline_runtime_note,
                   "dataset_version": p.dataset_version, "max_submissions_per_day": p.max_submissions_per_day,
                   "max_submissions_total": p.max_submissions_total} for p in competition.phases]
        shown = {"slug": competition.slug, "title": competition.title, "baseline_name": competition.baseline_name,
                 "baseline_params": competition.baseline_params, "scale": competition.scale,
                 "shave_border": competition.shave_border, "tolerances": competition.tolerances, "phases": phases}
    if as_json:
        print(json.dumps(shown, indent=2))
        return
    console.print(f"[bold]{shown['slug']}[/bold]: {shown['title']}\nbaseline {shown['baseline_name']}, "
                  f"{shown['baseline_params']:,} parameters; ×{shown['scale']}, border {shown['shave_border']}; "
                  f"tolerances {shown['tolerances']}")
    table = Table()
    for column in ("phase", "state", "images", "figures", "baseline PSNR", "baseline runtime", "per day", "total",
                   "tracks"):
        table.add_column(column)
    for p in phases:
        runtime = "—" if p["baseline_runtime"] is None else f"{p['baseline_runtime']:.4f} s"
        if p["baseline_runtime_note"]:
            runtime += f"\n{p['baseline_runtime_note']}"
        table.add_row(p["slug"], "open" if p["is_open"] else "closed", str(p["image_count"]), p["ranking_figures"],
                      str(p["baseline_psnr"] or "—"), runtime, str(p["max_submissions_per_day"] or "—"),
                      str(p["max_submissions_total"] or "—"), ", ".join(t["slug"] for t in p["tracks"]))
    console.print(table)


def update_phase(path: str, **values) -> None:
    from server.services.competitions import get_phase_by_path

    with organizer_errors(), session_scope() as session:
        phase = get_phase_by_path(session, path)
        for name, value in values.items():
            setattr(phase, name, value)


@phase_app.command("open")
def phase_open(phase: Annotated[str, typer.Argument(help="COMPETITION/PHASE")]):
    """Accept submissions to a phase."""
    update_phase(phase, is_open=True)
    console.print(f"{phase} is open")


@phase_app.command("close")
def phase_close(phase: Annotated[str, typer.Argument(help="COMPETITION/PHASE")]):
    """Refuse new submissions to a phase; queued ones are still scored."""
    update_phase(phase, is_open=False)
    console.print(f"{phase} is closed")


@phase_app.command("set-limits")
def phase_set_limits(
    phase: Annotated[str, typer.Argument(help="COMPETITION/PHASE")],
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


@baseline_app.command("measure")
def baseline_measure(phase: PhaseOpt):
    """Time the baseline on a GPU worker (queue `gpu`) and record it as the phase's baseline runtime."""
    from server.services.baseline import BASELINE_QUEUE, request_baseline_measurement
    from server.services.competitions import get_phase_by_path

    with organizer_errors(), session_scope() as session:
        request_baseline_measurement(get_phase_by_path(session, phase))
    console.print(f"baseline measurement of {phase} queued on '{BASELINE_QUEUE}'; "
                  f"`srchallenge competition show` shows the figure once a GPU worker has measured it")


@results_app.command("import")
def results_import(phase: PhaseOpt, file: Annotated[Path, typer.Argument(help="CSV: team,track,psnr,params,runtime"
                                                                              " [,runtime_self_reported,…]")],
                   as_json: JsonOpt = False):
    """Load entries measured elsewhere as scored submissions (one per row; teams created as needed)."""
    from server.services.competitions import get_phase_by_path
    from server.services.results_import import import_results

    if not file.is_file():
        fail(f"{file} is not a file")
    with organizer_errors(), session_scope() as session, Progress(console=err_console, transient=True) as progress:
        target = get_phase_by_path(session, phase)
        task = progress.add_task(f"importing {file.name}", total=None)
        summary = import_results(session, target, file.read_text(encoding="utf-8"), file.name,
                                 progress=lambda done, total: progress.update(task, completed=done, total=total))
    if as_json:
        print(json.dumps(asdict(summary), indent=2))
        return
    console.print(f"imported {summary.rows} entries into {summary.phase}"
                  + (f"; new teams: {', '.join(summary.teams_created)}" if summary.teams_created else ""))
