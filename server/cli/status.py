"""``srchallenge status``: queue lengths, workers, and what looks stuck, on this machine's database
or, with ``--server URL --token T``, on a remote deployment."""

from rich.table import Table

from server.cli.backend import backend_for
from server.cli.options import JsonOpt, ServerOpt, TokenOpt
from server.cli.output import console, print_json, service_errors
from server.schemas_admin import StatusOut


def status(server: ServerOpt = None, token: TokenOpt = None, as_json: JsonOpt = False):
    """Queue lengths, workers online, running jobs, and jobs that look stuck."""
    with service_errors():
        report = backend_for(server, token).status()
    if as_json:
        print_json(report)
        return
    render_status(report)


def render_status(report: StatusOut) -> None:
    queues = ", ".join(f"{q.name}: {'?' if q.waiting is None else q.waiting} waiting" for q in report.queues)
    in_flight = ("" if report.in_flight is None
                 else f", {report.in_flight} delivered to live workers and not yet acknowledged")
    if report.held_by_gone_workers:
        in_flight += (f", {report.held_by_gone_workers} held by workers that are gone (given out again after "
                      "Redis's visibility timeout; their runs are re-queued when the lease expires)")
    console.print(f"broker ({report.broker}): {queues}{in_flight}")
    if report.broker_error:
        console.print(f"[red]broker unreachable:[/red] {report.broker_error}")
    if report.database_error:
        console.print(f"[red]database unreachable:[/red] {report.database_error} — runs and workers unknown until it "
                      "answers again (nothing is lost: uploads are refused with 503 meanwhile)")
        return
    workers = Table(title="workers (seen in the last 15 minutes"
                          + (", or answering a ping)" if report.ping_available else "; no ping on this broker)"))
    for column in ("worker", "last seen", "ping", "running run"):
        workers.add_column(column)
    for worker in report.workers:
        workers.add_row(worker.name, str(worker.last_seen or "—"), "yes" if worker.answered_ping else "—",
                        str(worker.running_run or "—"))
    console.print(workers if report.workers else "[yellow]no worker seen lately[/yellow]")
    for job in report.baseline_measurements:
        console.print(f"baseline measurement #{job.id} of {job.phase}: {job.status}"
                      + (f" on {job.worker} since {job.started_at}" if job.worker else f" since {job.queued_at}")
                      + (f": {job.stage}" if job.stage else ""))
    if not report.running and not report.queued_too_long:
        console.print("nothing running; nothing queued for long")
        return
    stuck_ids = {run.id for run in report.stuck}
    runs = Table(title=f"running ({len(report.running)}), stuck: heartbeat older than {report.lease_seconds} s "
                       f"({len(report.stuck)}), queued over {report.requeue_after_seconds} s "
                       f"({len(report.queued_too_long)})")
    for column in ("run", "submission", "team", "phase", "status", "stage", "worker", "since", "heartbeat"):
        runs.add_column(column)
    for run in report.running + report.queued_too_long:
        state = "STUCK" if run.id in stuck_ids else run.status
        runs.add_row(str(run.id), run.submission, run.team, run.phase, state, run.stage or "—", run.worker or "—",
                     str(run.started_at or run.queued_at), str(run.heartbeat_at or "—"))
    console.print(runs)
