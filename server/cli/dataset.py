"""``srchallenge dataset``: a phase's hidden data."""

from pathlib import Path
from typing import Annotated

import typer

from server.cli.options import PhaseOpt
from server.cli.output import console, err_console, service_errors
from server.config import get_settings
from server.db import session_scope

app = typer.Typer(help="Hidden data of a phase.", no_args_is_help=True)


@app.command("import")
def import_(phase: PhaseOpt, hr: Annotated[Path, typer.Option(help="folder of HR PNGs")]):
    """Import hidden HR images: crop to the scale, store privately, make the public LR inputs."""
    from rich.progress import Progress

    from server.services.competitions import get_phase_by_path
    from server.services.datasets import import_hr_images
    from server.services.storage import Storage

    storage = Storage.from_settings(get_settings())
    with service_errors(), session_scope() as session, Progress(console=err_console) as progress:
        target = get_phase_by_path(session, phase)
        task = progress.add_task(f"importing {phase}", total=None)
        count = import_hr_images(storage, target, hr,
                                 progress=lambda done, total: progress.update(task, completed=done, total=total))
    console.print(f"imported {count} images into {phase}")
