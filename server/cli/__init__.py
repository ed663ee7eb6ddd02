"""The ``srchallenge`` command: thin typer commands over the services, one module per command group.

The tree below is ``srchallenge --help``. A ``ServiceError`` ends a command as one red line and
exit code 1 (server/cli/output.py); ``--help`` works everywhere.
"""

import typer
from sqlalchemy.exc import OperationalError

from server.cli import (audit, baseline, competition, dataset, db, demo, leaderboard, organizer, phase, rescore,
                        results, serve, status, submission, submit, team, worker)
from server.cli.output import err_console
from server.config import get_settings
from server.db import explain_database_error
from server.logs import configure_logging

app = typer.Typer(help="srchallenge: a scoring server for constrained super-resolution challenges.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
for group in (db, competition, dataset, team, organizer, phase, baseline, results, submission):
    app.add_typer(group.app, name=group.__name__.rpartition(".")[2])
for command in (serve.serve, worker.worker, demo.demo, submit.submit, leaderboard.leaderboard, rescore.rescore,
                status.status, audit.audit):
    app.command()(command)


def main() -> int:
    """Entry point: a database that is missing or unreachable is a message, not a traceback."""
    configure_logging(get_settings().log_format)
    try:
        return app()
    except OperationalError as err:
        err_console.print(f"[red]error:[/red] {explain_database_error(err)}", soft_wrap=True)
        return 1
