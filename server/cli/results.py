"""``srchallenge results``: entries measured elsewhere."""

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from server.cli.options import JsonOpt, PhaseOpt
from server.cli.output import console, err_console, fail, print_json, service_errors
from server.db import session_scope

app = typer.Typer(help="Entries measured elsewhere.", no_args_is_help=True)


@app.command("import")
def import_(phase: PhaseOpt, file: Annotated[Path, typer.Argument(help="CSV: team,track,psnr,params,runtime"
                                                                       " [,runtime_self_reported,…]")],
            as_json: JsonOpt = False):
    """Load entries measured elsewhere as scored submissions (one per row; teams created as needed)."""
    from server.services.competitions import get_phase_by_path
    from server.services.results_import import import_results

    if not file.is_file():
        fail(f"{file} is not a file")
    with service_errors(), session_scope() as session, Progress(console=err_console, transient=True) as progress:
        target = get_phase_by_path(session, phase)
        task = progress.add_task(f"importing {file.name}", total=None)
        summary = import_results(session, target, file.read_text(encoding="utf-8"), file.name,
                                 progress=lambda done, total: progress.update(task, completed=done, total=total))
    if as_json:
        print_json(summary)
        return
    console.print(f"imported {summary.rows} entries into {summary.phase}"
                  + (f"; new teams: {', '.join(summary.teams_created)}" if summary.teams_created else ""))
