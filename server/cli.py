"""The ``srchallenge`` command: thin typer commands over the services.

A ``ServiceError`` becomes a one-line message and exit code 1; ``--help`` works everywhere.
"""

import sys

from sqlalchemy.exc import OperationalError

from server import (cli_admin, cli_client, cli_demo, cli_leaderboard, cli_organizer, cli_rescore,  # noqa: F401
                    cli_submissions)  # each module registers its commands
from server.cli_app import app, err_console
from server.config import get_settings
from server.logs import configure_logging


def main() -> int:
    """Entry point: a database that is missing or unreachable is a message, not a traceback."""
    configure_logging(get_settings().log_format)
    try:
        return app()
    except OperationalError as err:
        err_console.print(f"[red]error:[/red] cannot use the database at {get_settings().sqlalchemy_url}: "
                          f"{err.orig}. Run `srchallenge db upgrade` first, or check SRCHALLENGE_DATABASE_URL.",
                          soft_wrap=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
