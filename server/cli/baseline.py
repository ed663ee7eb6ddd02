"""``srchallenge baseline``: the baseline's figures of a phase."""

import typer

from server.cli.options import PhaseOpt
from server.cli.output import console, service_errors
from server.db import session_scope

app = typer.Typer(help="The baseline's figures of a phase.", no_args_is_help=True)


@app.command("measure")
def measure(phase: PhaseOpt):
    """Time the baseline on a GPU worker (queue `gpu`) and record it as the phase's baseline runtime."""
    from server.queue import GPU_QUEUE
    from server.services.audit import local_actor
    from server.services.baseline import request_baseline_measurement
    from server.services.competitions import get_phase_by_path

    with service_errors(), session_scope() as session:
        request_baseline_measurement(session, get_phase_by_path(session, phase), local_actor())
    console.print(f"baseline measurement of {phase} queued on '{GPU_QUEUE}'; "
                  f"`srchallenge competition show` shows the figure once a GPU worker has measured it")
