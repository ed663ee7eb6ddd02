"""``srchallenge organizer``: organizers and their API tokens."""


import typer

from server.cli.options import JsonOpt
from server.cli.output import console, print_json, service_errors
from server.db import session_scope

app = typer.Typer(help="Organizers and their API tokens (sro_…).", no_args_is_help=True)


@app.command("create")
def create(name: str, as_json: JsonOpt = False):
    """Create an organizer (or re-issue a revoked one) and print its token, shown once."""
    from server.services.organizers import create_organizer

    with service_errors(), session_scope() as session:
        _organizer, token = create_organizer(session, name)
    if as_json:
        print_json({"name": name, "token": token})
        return
    console.print(f"organizer {name} created; token for --token or SRCHALLENGE_ORGANIZER_TOKEN (shown once):")
    print(token)


@app.command("revoke")
def revoke(name: str, as_json: JsonOpt = False):
    """Revoke an organizer's token at once."""
    from server.services.organizers import revoke_organizer

    with service_errors(), session_scope() as session:
        revoked_at = revoke_organizer(session, name).revoked_at
    if as_json:
        print_json({"name": name, "revoked_at": revoked_at})
        return
    console.print(f"organizer {name} revoked")


@app.command("list")
def list_(as_json: JsonOpt = False):
    """List organizers and whether their token is revoked."""
    from server.services.organizers import list_organizers

    with session_scope() as session:
        rows = [{"name": o.name, "created_at": o.created_at.isoformat(),
                 "revoked_at": o.revoked_at.isoformat() if o.revoked_at else None} for o in list_organizers(session)]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        console.print(f"{row['name']}{' (revoked)' if row['revoked_at'] else ''}")
