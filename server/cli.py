"""The ``srchallenge`` command: thin typer commands over the services.

A ``ServiceError`` becomes a one-line message and exit code 1; ``--help`` works everywhere.
"""

import sys

from server import (cli_admin, cli_client, cli_demo, cli_leaderboard, cli_organizer, cli_rescore,  # noqa: F401
                    cli_submissions)  # each module registers its commands
from server.cli_app import app

if __name__ == "__main__":
    sys.exit(app())
