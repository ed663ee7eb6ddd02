"""The typer app and what its commands share: sub-command groups, consoles, error exit."""

from typing import Annotated

import typer
from rich.console import Console

from server.config import get_settings

app = typer.Typer(help="srchallenge: a scoring server for constrained super-resolution challenges.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
competition_app = typer.Typer(help="Create and inspect competitions.", no_args_is_help=True)
dataset_app = typer.Typer(help="Hidden data of a phase.", no_args_is_help=True)
team_app = typer.Typer(help="Teams and their tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(competition_app, name="competition")
app.add_typer(dataset_app, name="dataset")
app.add_typer(team_app, name="team")

console = Console()
err_console = Console(stderr=True)
PhaseOpt = Annotated[str, typer.Option("--phase", help="COMPETITION/PHASE, e.g. aim2019/validation")]


def fail(message: str) -> None:
    err_console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(1)


def prepare_database() -> None:
    """Apply migrations; serve/demo call it so an embedded SQLite needs no separate step."""
    from server.migrate import upgrade_database
    from server.services.storage import Storage

    settings = get_settings()
    Storage.from_settings(settings).ensure_layout()
    upgrade_database(settings.sqlalchemy_url)
