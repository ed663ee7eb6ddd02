"""``srchallenge submission list|show|cancel|approve|reject``: any team's submissions, for the organizers."""

from typing import Annotated

import typer
from rich.table import Table

from server.cli.backend import backend_for
from server.cli.options import JsonOpt, ServerOpt, TokenOpt
from server.cli.output import console, print_json, service_errors
from server.schemas_admin import AdminSubmissionOut

app = typer.Typer(help="Any team's submissions: list, show with history, cancel, review.", no_args_is_help=True)


@app.command("list")
def list_(
    phase: Annotated[str | None, typer.Option(help="COMPETITION/PHASE")] = None,
    team: Annotated[str | None, typer.Option(help="team name")] = None,
    status: Annotated[str | None, typer.Option(help="submitted, running, scored, failed or cancelled")] = None,
    review: Annotated[str | None, typer.Option(help="held (awaiting a decision), approved or rejected")] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
):
    """List submissions, newest first (at most 200)."""
    with service_errors():
        found = backend_for(server, token).submissions(phase, team, status, review)
    if as_json:
        print_json(found)
        return
    table = Table(title=f"{len(found)} submission(s)")
    for column in ("id", "phase", "team", "kind", "status", "PSNR (dB)", "created", "reason"):
        table.add_column(column)
    for s in found:
        psnr = "—" if s.figures.psnr is None else f"{s.figures.psnr:.4f}"
        shown = f"{s.status} ({s.review})" if s.review else s.status
        table.add_row(s.id, s.phase, s.team, s.kind, shown, psnr, f"{s.created_at:%Y-%m-%d %H:%M}",
                      s.reason or s.review_note or "")
    console.print(table)


@app.command("show")
def show(submission_id: str, server: ServerOpt = None, token: TokenOpt = None, as_json: JsonOpt = False):
    """One submission and every scoring run it has had (who asked, which scorer and data version)."""
    with service_errors():
        found = backend_for(server, token).submission(submission_id)
    if as_json:
        print_json(found)
        return
    render_submission(found)


@app.command("cancel")
def cancel(
    submission_id: str,
    reason: Annotated[str, typer.Option(help="shown to the team")] = "cancelled by the organizers",
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
):
    """Cancel a submitted or running submission: its run is dropped, a worker's late result ignored."""
    with service_errors():
        found = backend_for(server, token).cancel(submission_id, reason)
    if as_json:
        print_json(found)
        return
    console.print(f"submission {found.id} of {found.team} cancelled: {found.reason}")


@app.command("approve")
def approve(
    submission_id: str,
    reason: Annotated[str, typer.Option(help="recorded in the submission's history")] = "",
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
):
    """Approve an entry held for review of its stored numbers: it is ranked like any other."""
    decide(submission_id, "approved", reason, server, token, as_json)


@app.command("reject")
def reject(
    submission_id: str,
    reason: Annotated[str, typer.Option(help="shown to the team and on the board")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
):
    """Reject an entry held for review: it stays unranked with the reason."""
    decide(submission_id, "rejected", reason, server, token, as_json)


def decide(submission_id: str, decision: str, reason: str, server: str | None, token: str | None,
           as_json: bool) -> None:
    with service_errors():
        found = backend_for(server, token).decide(submission_id, decision, reason)
    if as_json:
        print_json(found)
        return
    console.print(f"submission {found.id} of {found.team} {found.review}: {found.review_note}")


def render_submission(s: AdminSubmissionOut) -> None:
    figures = s.figures
    console.print(f"[bold]{s.id}[/bold] {s.kind} submission of [bold]{s.team}[/bold] to {s.phase}, "
                  f"tracks {', '.join(s.tracks)}; {s.status}{': ' + s.reason if s.reason else ''}")
    console.print(f"file {s.filename}; created {s.created_at:%Y-%m-%d %H:%M:%S}; figures shown: "
                  f"PSNR {figures.psnr}, params {figures.params}, runtime {figures.runtime} "
                  f"(ratio {figures.runtime_ratio}) from run {s.current_run_id or '—'}; "
                  f"stored besides parameters {figures.stored_numbers}, literals {figures.literals}")
    history = Table(title="scoring runs")
    for column in ("run", "#", "status", "requested by", "queued", "finished", "worker", "code", "data", "figures"):
        history.add_column(column)
    for run in s.runs or []:
        mark = " (current)" if run.id == s.current_run_id else ""
        figures_text = ", ".join(f"{k} {v}" for k, v in run.figures.items()) or (run.reason or "")
        history.add_row(f"{run.id}{mark}", str(run.attempt), run.status, run.requested_by,
                        f"{run.queued_at:%Y-%m-%d %H:%M:%S}",
                        f"{run.finished_at:%H:%M:%S}" if run.finished_at else "—", run.worker or "—",
                        run.code_version or "—", run.dataset_version or "—", figures_text)
    console.print(history)
    if s.reviews:
        reviews = Table(title=f"review: {s.review}")
        for column in ("decision", "by", "at", "reason"):
            reviews.add_column(column)
        for d in s.reviews:
            reviews.add_row(d.decision, d.decided_by, f"{d.decided_at:%Y-%m-%d %H:%M:%S}", d.reason)
        console.print(reviews)
    latest = (s.runs or [None])[-1]
    if latest is not None and latest.log:
        console.print(f"[bold]log of run {latest.id}[/bold] (the team sees it too):", markup=True)
        console.print(latest.log, markup=False, highlight=False)
    if latest is not None and latest.traceback:
        console.print(f"[bold]platform traceback of run {latest.id}[/bold] (organizers only):", markup=True)
        console.print(latest.traceback, markup=False, highlight=False)
