"""``srchallenge competition``: create competitions from bundles and inspect them."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from server.cli.backend import backend_for
from server.cli.options import JsonOpt, ServerOpt, TokenOpt
from server.cli.output import console, print_json, service_errors
from server.db import session_scope

app = typer.Typer(help="Create and inspect competitions.", no_args_is_help=True)


@app.command("create")
def create(bundle: Path, as_json: JsonOpt = False):
    """Create a competition, its phases and tracks from a bundle YAML."""
    from server.bundle import load_bundle
    from server.services.audit import local_actor
    from server.services.competitions import create_competition

    with service_errors():
        spec = load_bundle(bundle)
        with session_scope() as session:
            shown = competition_state(create_competition(session, spec, actor=local_actor()))
    if as_json:
        print_json(shown)
        return
    console.print(f"created competition {shown['slug']} with phases {', '.join(p['slug'] for p in shown['phases'])}")


@app.command("update")
def update(
    bundle: Path,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would change, change nothing")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
):
    """Apply an edited bundle to its competition (same slug): says what changed; refuses, changing
    nothing, what would orphan data (a phase or track holding submissions, another scale)."""
    from server.bundle import load_bundle

    with service_errors():
        spec = load_bundle(bundle)
        result = backend_for(server, token).update_competition(spec, dry_run)
    if as_json:
        print_json(result)
        return
    lines = result.changes
    if not lines:
        console.print(f"{spec.slug}: the bundle matches what is applied; nothing changed")
        return
    console.print(f"{spec.slug}: {'would change' if dry_run else 'changed'}:")
    for line in lines:
        console.print(f"  - {line}", soft_wrap=True)


@app.command("list")
def list_(as_json: JsonOpt = False):
    """List competitions and their phases."""
    from server.services.competitions import list_competitions

    with session_scope() as session:
        shown = [competition_state(competition) for competition in list_competitions(session)]
    if as_json:
        print_json(shown)
        return
    for competition in shown:
        phases = ", ".join(f"{p['slug']} ({p['image_count']} images, {'open' if p['is_open'] else 'closed'})"
                           for p in competition["phases"])
        console.print(f"{competition['slug']}: {competition['title']} — {phases}")


def competition_state(competition) -> dict:
    """What `show`, `create` and `list` print: the competition's settings and each phase's state."""
    from server.schemas_admin import AdminPhaseOut

    return {"slug": competition.slug, "title": competition.title, "baseline_name": competition.baseline_name,
            "baseline_params": competition.baseline_params, "baseline_scale": competition.baseline_scale,
            "baseline_ranked": competition.baseline_ranked, "scale": competition.scale,
            "shave_border": competition.shave_border, "tolerances": competition.tolerances,
            "timing": competition.timing, "display": competition.display,
            "phases": [AdminPhaseOut.of(p).model_dump(mode="json") for p in competition.phases]}


@app.command("show")
def show(slug: str, as_json: JsonOpt = False):
    """A competition's baseline, tolerances, and each phase's state, limits and tracks."""
    from server.services.competitions import get_competition

    with service_errors(), session_scope() as session:
        shown = competition_state(get_competition(session, slug))
    if as_json:
        print_json(shown)
        return
    console.print(f"[bold]{shown['slug']}[/bold]: {shown['title']}\nbaseline {shown['baseline_name']}, "
                  f"{shown['baseline_params']:,} parameters at ×{shown['baseline_scale'] or shown['scale']}"
                  f"{'' if shown['baseline_ranked'] else ' (not ranked)'}; ×{shown['scale']}, border "
                  f"{shown['shave_border']}; tolerances {shown['tolerances']}; timing {shown['timing'] or 'best of 3'}")
    table = Table()
    for column in ("phase", "state", "opens", "closes", "images", "figures", "baseline PSNR", "baseline runtime",
                   "per day", "total", "tracks"):
        table.add_column(column)
    for p in shown["phases"]:
        runtime = "—" if p["baseline_runtime"] is None else f"{p['baseline_runtime']:.4f} s"
        if p["baseline_runtime_device"]:
            runtime += f" on {p['baseline_runtime_device']}"
        if p["baseline_runtime_note"]:
            runtime += f"\n{p['baseline_runtime_note']}"
        psnr = "—" if p["baseline_psnr"] is None else f"{p['baseline_psnr']:.2f} dB"
        if p["baseline_psnr_note"]:
            psnr += f"\n{p['baseline_psnr_note']}"
        table.add_row(p["slug"], "open" if p["is_open"] else "closed", p["opens_at"] or "—", p["closes_at"] or "—",
                      str(p["image_count"]), p["ranking_figures"], psnr, runtime, str(p["max_submissions_per_day"] or "—"),
                      str(p["max_submissions_total"] or "—"), ", ".join(t["slug"] for t in p["tracks"]))
    console.print(table)

