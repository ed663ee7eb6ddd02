"""``srchallenge db``: the database schema (Alembic migrations)."""

import typer

from server.cli.options import JsonOpt
from server.cli.output import console, print_json
from server.config import get_settings

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


def prepare_database() -> None:
    """Apply migrations; serve/demo call it so an embedded SQLite needs no separate step."""
    from server.migrate import upgrade_database
    from server.services.storage import Storage

    settings = get_settings()
    Storage.from_settings(settings).ensure_layout()
    upgrade_database(settings.sqlalchemy_url)


def current_revision(database_url: str) -> str | None:
    """The migration the database is at, as Alembic recorded it."""
    from alembic.migration import MigrationContext

    from server.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


@app.command("upgrade")
def upgrade(as_json: JsonOpt = False):
    """Create or update the schema to the newest migration."""
    prepare_database()
    revision = current_revision(get_settings().sqlalchemy_url)
    if as_json:
        print_json({"revision": revision})
        return
    console.print(f"database is at the newest migration ({revision})")
