"""``srchallenge db``: the database schema (Alembic migrations)."""

import typer

from server.cli.output import console
from server.config import get_settings

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


def prepare_database() -> None:
    """Apply migrations; serve/demo call it so an embedded SQLite needs no separate step."""
    from server.migrate import upgrade_database
    from server.services.storage import Storage

    settings = get_settings()
    Storage.from_settings(settings).ensure_layout()
    upgrade_database(settings.sqlalchemy_url)


@app.command("upgrade")
def upgrade():
    """Create or update the schema to the newest migration."""
    prepare_database()
    console.print("database is at the newest migration")
