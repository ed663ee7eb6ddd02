"""``srchallenge dataset``: a phase's hidden data."""

from pathlib import Path
from typing import Annotated

import typer

from server.cli.options import JsonOpt, PhaseOpt
from server.cli.output import console, err_console, print_json, service_errors
from server.config import get_settings
from server.db import session_scope

app = typer.Typer(help="Hidden data of a phase.", no_args_is_help=True)


@app.command("import")
def import_(phase: PhaseOpt, hr: Annotated[Path, typer.Option(help="folder of HR PNGs")], as_json: JsonOpt = False):
    """Import (or re-import) hidden HR images: crop to the scale, store privately, make the public LR
    inputs. A re-import is a new version of the set: it says what was added, removed, replaced."""
    from rich.progress import Progress

    from server.services.competitions import get_phase_by_path
    from server.services.audit import local_actor
    from server.services.datasets import import_hr_images
    from server.services.storage import Storage

    storage = Storage.from_settings(get_settings())
    with service_errors(), session_scope() as session, Progress(console=err_console) as progress:
        target = get_phase_by_path(session, phase)
        task = progress.add_task(f"importing {phase}", total=None)
        summary = import_hr_images(storage, target, hr, actor=local_actor(),
                                   progress=lambda done, total: progress.update(task, completed=done, total=total))
    if as_json:
        print_json(summary)
        return
    console.print(f"imported into {phase}: {summary.describe()}", soft_wrap=True)
