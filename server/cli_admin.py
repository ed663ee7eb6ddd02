"""Organizer commands over the services: database, competitions, datasets, teams, processes."""

from pathlib import Path
from typing import Annotated

import typer

from server.bundle import BundleError, load_bundle
from server.cli_app import (PhaseOpt, app, competition_app, console, dataset_app, db_app, err_console, fail,
                            prepare_database, team_app)
from server.config import get_settings
from server.db import session_scope
from server.services.errors import ServiceError


@db_app.command("upgrade")
def db_upgrade():
    """Create or update the schema to the newest migration."""
    prepare_database()
    console.print("database is at the newest migration")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, migrate: bool = True):
    """Run the API and web pages (uvicorn)."""
    import uvicorn

    from server.main import create_app

    if migrate:
        prepare_database()
    uvicorn.run(create_app(), host=host, port=port, log_level="info", timeout_graceful_shutdown=30)


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="comma-separated: scoring (results zips), gpu (code re-runs)")]
    = "scoring,gpu",
    concurrency: int = 1,
    hostname: str | None = None,
):
    """Run a Celery worker that scores submissions."""
    from worker.celery_app import QUEUES, get_celery

    unknown = set(queues.split(",")) - set(QUEUES)
    if unknown:
        fail(f"unknown queue(s) {sorted(unknown)}; known: {', '.join(QUEUES)}")
    import worker.tasks  # noqa: F401  (registers the tasks)

    argv = ["worker", "-Q", queues, "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-gossip",
            "--without-mingle"]
    if hostname:
        argv += ["--hostname", hostname]
    get_celery().worker_main(argv)


@competition_app.command("create")
def competition_create(bundle: Path):
    """Create a competition, its phases and tracks from a bundle YAML."""
    from server.services.competitions import create_competition

    try:
        spec = load_bundle(bundle)
        with session_scope() as session:
            competition = create_competition(session, spec)
            console.print(f"created competition {competition.slug} with phases "
                          f"{', '.join(p.slug for p in competition.phases)}")
    except (BundleError, ServiceError) as err:
        fail(str(err))


@competition_app.command("list")
def competition_list():
    """List competitions and their phases."""
    from server.services.competitions import list_competitions

    with session_scope() as session:
        for competition in list_competitions(session):
            phases = ", ".join(f"{p.slug} ({p.image_count} images, {'open' if p.is_open else 'closed'})"
                               for p in competition.phases)
            console.print(f"{competition.slug}: {competition.title} — {phases}")


@dataset_app.command("import")
def dataset_import(phase: PhaseOpt, hr: Annotated[Path, typer.Option(help="folder of HR PNGs")]):
    """Import hidden HR images: crop to the scale, store privately, make the public LR inputs."""
    from rich.progress import Progress

    from server.services.competitions import get_phase_by_path
    from server.services.datasets import import_hr_images
    from server.services.storage import Storage

    storage = Storage.from_settings(get_settings())
    try:
        with session_scope() as session, Progress(console=err_console) as progress:
            target = get_phase_by_path(session, phase)
            task = progress.add_task(f"importing {phase}", total=None)
            count = import_hr_images(storage, target, hr,
                                     progress=lambda done, total: progress.update(task, completed=done, total=total))
        console.print(f"imported {count} images into {phase}")
    except ServiceError as err:
        fail(str(err))


@team_app.command("create")
def team_create(name: str):
    """Create a team and print its API token (shown once; only its hash is stored)."""
    from server.services.teams import create_team

    try:
        with session_scope() as session:
            _team, token = create_team(session, name)
    except ServiceError as err:
        fail(str(err))
    console.print(f"team {name} created; token (shown once):")
    print(token)


@team_app.command("list")
def team_list():
    """List teams."""
    from server.services.teams import list_teams

    with session_scope() as session:
        for team in list_teams(session):
            console.print(f"{team.name}{' (disabled)' if team.disabled else ''}")


@team_app.command("token")
def team_token(name: str, rotate: Annotated[bool, typer.Option("--rotate", help="issue a new token")] = False):
    """Rotate a team's token (the old one stops working) and print the new one."""
    from server.services.teams import get_team, rotate_token

    if not rotate:
        fail("tokens are stored hashed and cannot be shown again; use --rotate to issue a new one")
    try:
        with session_scope() as session:
            token = rotate_token(session, get_team(session, name))
    except ServiceError as err:
        fail(str(err))
    print(token)
