"""``srchallenge team``: teams and their tokens."""

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer

from server.cli.options import JsonOpt
from server.cli.output import console, fail, print_json, service_errors
from server.db import session_scope

app = typer.Typer(help="Teams and their tokens.", no_args_is_help=True)


def read_team_names(path: Path) -> list[str]:
    """First column of each non-blank row; a first row whose first cell is ``name`` or ``team`` is a header."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            names = [row[0].strip() for row in csv.reader(handle) if row and row[0].strip()]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        fail(f"cannot read {path}: {err}")
    if names and names[0].lower() in ("name", "team"):
        names = names[1:]
    if not names:
        fail(f"{path} names no teams")
    return names


@app.command("create")
def create(
    name: Annotated[str | None, typer.Argument(help="team name (or --csv)")] = None,
    from_csv: Annotated[Path | None, typer.Option("--csv", help="create the teams named in this CSV's first "
                                                    "column, all or none; prints team,token as CSV")] = None,
    as_json: JsonOpt = False,
):
    """Create teams and print their API tokens (shown once; only their hashes are stored)."""
    from server.services.teams import create_team

    if (name is None) == (from_csv is None):
        fail("give a team name or --csv FILE (not both)")
    names = read_team_names(from_csv) if from_csv else [name]
    with service_errors(), session_scope() as session:
        created = [{"team": team.name, "token": token} for team, token in (create_team(session, n) for n in names)]
    if as_json:
        print_json(created if from_csv else created[0])
    elif from_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["team", "token"])
        writer.writerows([entry["team"], entry["token"]] for entry in created)
    else:
        console.print(f"team {name} created; token (shown once):")
        print(created[0]["token"])


@app.command("list")
def list_(as_json: JsonOpt = False):
    """List teams."""
    from server.services.teams import list_teams

    with session_scope() as session:
        rows = [{"team": team.name, "disabled": team.disabled} for team in list_teams(session)]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        console.print(f"{row['team']}{' (disabled)' if row['disabled'] else ''}")


@app.command("token")
def token(name: str, rotate: Annotated[bool, typer.Option("--rotate", help="issue a new token")] = False,
          as_json: JsonOpt = False):
    """Rotate a team's token (the old one stops working) and print the new one."""
    from server.services.teams import get_team, rotate_token

    if not rotate:
        fail("tokens are stored hashed and cannot be shown again; use --rotate to issue a new one")
    with service_errors(), session_scope() as session:
        new_token = rotate_token(session, get_team(session, name))
    if as_json:
        print_json({"team": name, "token": new_token})
        return
    print(new_token)


def set_disabled(name: str, disabled: bool, as_json: bool) -> None:
    from server.services.teams import get_team

    with service_errors(), session_scope() as session:
        get_team(session, name).disabled = disabled
    if as_json:
        print_json({"team": name, "disabled": disabled})
        return
    console.print(f"team {name} {'disabled: its token is refused' if disabled else 'enabled'}")


@app.command("disable")
def disable(name: str, as_json: JsonOpt = False):
    """Refuse a team's token (uploads and views); its scored entries stay on the leaderboard."""
    set_disabled(name, True, as_json)


@app.command("enable")
def enable(name: str, as_json: JsonOpt = False):
    """Accept a disabled team's token again."""
    set_disabled(name, False, as_json)
