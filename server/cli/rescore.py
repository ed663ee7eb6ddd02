"""``srchallenge rescore``: queue submissions again, on this machine's database or, with
``--server URL --token T``, on a remote deployment."""

import time
from collections import Counter
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from server.cli.backend import Backend, backend_for
from server.cli.options import JsonOpt, ServerOpt, TokenOpt
from server.cli.output import console, err_console, fail, print_json, service_errors
from server.models import FINISHED, Status
from server.schemas_admin import FiguresOut, RescoreItemOut, RunOut
from server.services.rescore import RescoreScope

POLL_S = 0.5


def rescore(
    team: Annotated[str | None, typer.Option(help="the team whose submissions to rescore")] = None,
    phase: Annotated[str | None, typer.Option(help="COMPETITION/PHASE: only this phase")] = None,
    submission: Annotated[str | None, typer.Option(help="only this submission (its id)")] = None,
    everyone: Annotated[bool, typer.Option("--all", help="every team's submissions in --phase")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="show progress until done, then old vs new figures")] = False,
    timeout: Annotated[float, typer.Option(help="seconds --wait waits")] = 3600,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
):
    """Queue submissions again on the real queue (results zips re-scored, code re-run).

    The figures shown stay until the new run has scored; a failed rescore keeps them and says why.
    A submission already queued or running is not queued twice: its pending run is reused.
    """
    backend = backend_for(server, token)
    with service_errors():
        items = backend.rescore(RescoreScope(team=team, phase=phase, submission=submission, everyone=everyone))
        if wait:
            final = wait_for_runs(backend, [item.run.id for item in items], timeout)
            items = [item.model_copy(update={"run": run}) for item, run in zip(items, final)]
    if as_json:
        print_json(items)
    else:
        console.print(rescore_table(items, waited=wait))
    unsent = [item.run.id for item in items if not item.sent]
    if unsent:
        err_console.print(f"[yellow]warning:[/yellow] the broker refused run(s) {unsent}; they stay queued in "
                          "the database and the reaper sends them again")
    failed = [item for item in items if item.run.status in (Status.FAILED, Status.CANCELLED)]
    if wait and failed:
        fail(f"{len(failed)} of {len(items)} rescore(s) did not score; their old figures stay: "
             + "; ".join(f"{item.submission}: {item.run.reason}" for item in failed))


def wait_for_runs(backend: Backend, run_ids: list[int], timeout_s: float) -> list[RunOut]:
    """Poll until every run has finished; a live progress bar on stderr keeps stdout clean for --json."""
    deadline = time.monotonic() + timeout_s
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("rescoring", total=len(run_ids))
        while True:
            runs = backend.runs(run_ids)
            counts = Counter(run.status for run in runs)
            progress.update(task, completed=sum(counts[s] for s in FINISHED),
                            description=", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
            if all(run.status in FINISHED for run in runs):
                return runs
            if time.monotonic() > deadline:
                fail(f"{len(runs) - sum(counts[s] for s in FINISHED)} run(s) still pending after {timeout_s:g} s; "
                     "they go on in the background (`srchallenge status` follows them)")
            time.sleep(POLL_S)


def rescore_table(items: list[RescoreItemOut], waited: bool) -> Table:
    table = Table(title=f"{len(items)} submission(s) {'rescored' if waited else 'queued for rescoring'}")
    for column in ("submission", "team", "kind", "run", "status", "PSNR (dB)", "params", "runtime (s)", "note"):
        table.add_column(column)
    for item in items:
        run = item.run
        new = run.figures if run.status == Status.SCORED else {}
        note = run.reason or ""
        if item.already_pending:
            note = "already pending: not queued twice"
        if run.status == Status.FAILED:
            note = f"old figures kept: {run.reason}"
        table.add_row(item.submission, item.team, item.kind, f"#{run.attempt}", run.status,
                      old_new(item.old, new, "psnr", "{:.4f}"), old_new(item.old, new, "params", "{:,}"),
                      old_new(item.old, new, "runtime", "{:.4f}"), note)
    return table


def old_new(old: FiguresOut, new: dict, name: str, pattern: str) -> str:
    before = getattr(old, name)
    shown = "—" if before is None else pattern.format(before)
    if name in new and new[name] is not None:
        shown += f" → {pattern.format(new[name])}"
    return shown
