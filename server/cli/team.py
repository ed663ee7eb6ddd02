"""``srchallenge team``: teams and their tokens."""

from typing import Annotated

import typer

from server.cli.output import console, fail, service_errors
from server.db import session_scope

app = typer.Typer(help="Teams and their tokens.", no_args_is_help=True)


@app.command("create")
def create(name: str):
    """Create a team and print its API token (shown once; only its hash is stored)."""
    from server.services.teams import create_team

    with service_errors(), session_scope() as session:
        _team, token = create_team(session, name)
    console.print(f"team {name} created; token (shown once):")
    print(token)


@app.command("list")
def list_():
    """List teams."""
    from server.services.teams import list_teams

    with session_scope() as session:
        for team in list_teams(session):
            console.print(f"{team.name}{' (disabled)' if team.disabled else ''}")


@app.command("token")
def token(name: str, rotate: Annotated[bool, typer.Option("--rotate", help="issue a new token")] = False):
    """Rotate a team's token (the old one stops working) and print the new one."""
    from server.services.teams import get_team, rotate_token

    if not rotate:
        fail("tokens are stored hashed and cannot be shown again; use --rotate to issue a new one")
    with service_errors(), session_scope() as session:
        new_token = rotate_token(session, get_team(session, name))
    print(new_token)


def set_disabled(name: str, disabled: bool) -> None:
    from server.services.teams import get_team

    with service_errors(), session_scope() as session:
        get_team(session, name).disabled = disabled
    console.print(f"team {name} {'disabled: its token is refused' if disabled else 'enabled'}")


@app.command("disable")
def disable(name: str):
    """Refuse a team's token (uploads and views); its scored entries stay on the leaderboard."""
    set_disabled(name, True)


@app.command("enable")
def enable(name: str):
    """Accept a disabled team's token again."""
    set_disabled(name, False)
