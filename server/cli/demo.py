"""``srchallenge demo``: the whole product on one machine — API, one real worker process, a seeded
competition and a first scored entry. ``--smoke`` waits for the scores, prints them and exits."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from server.cli.db import prepare_database
from server.cli.output import console, fail
from server.cli.submit import upload, wait_for
from server.config import get_settings
from server.db import session_scope
from server.models import Status
from server.services.demo import DEMO_TEAM, bicubic_results_zip, seed_demo
from server.services.storage import Storage


def start(args: list[str]) -> subprocess.Popen:
    """A child in its own process group, so stopping the demo stops everything it started."""
    return subprocess.Popen([sys.executable, "-m", "server.cli", *args], start_new_session=True)


def stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)


def wait_until_up(url: str, children: list[subprocess.Popen], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            raise RuntimeError("a demo process exited during start-up; see its output above")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the API did not answer on {url} within {timeout_s:.0f} s")


def print_leaderboard(url: str, phase: str) -> None:
    board = httpx.get(f"{url}/api/v1/phases/{phase}/leaderboard", timeout=30).raise_for_status().json()
    for track in board["tracks"]:
        console.print(f"[bold]{track['title']}[/bold]")
        for row in track["rows"]:
            rank = row["rank"] if row["rank"] is not None else "−"
            psnr = f"{row['psnr']:.2f} dB" if row["psnr"] is not None else "not measured"
            console.print(f"  {rank:>2}  {row['team']:<16} PSNR {psnr}  {row['unranked_reason'] or ''}", soft_wrap=True)


def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    smoke: Annotated[bool, typer.Option("--smoke", help="wait for the seeded scores, print them, exit")] = False,
    timeout: float = 600,
):
    """Run the demo: migrations, seeded AIM 2019 competition, API and one worker."""
    settings = get_settings()
    prepare_database()
    storage = Storage.from_settings(settings)
    with session_scope() as session:
        competition, token = seed_demo(session, storage)
        slug, scale = competition.slug, competition.scale
    url = f"http://{host}:{port}"
    children = [start(["serve", "--host", host, "--port", str(port), "--no-migrate"]), start(["worker"])]
    try:
        wait_until_up(url, children)
        phase = f"{slug}/validation"
        with tempfile.TemporaryDirectory() as tmp:
            zip_path = Path(tmp) / "bicubic.zip"
            zip_path.write_bytes(bicubic_results_zip(storage, slug, "validation", scale))
            accepted = upload(url, phase, token, zip_path, {})
        console.print(f"leaderboard page: {url}/competitions/{slug}")
        console.print(f"leaderboard API:  {url}/api/v1/phases/{phase}/leaderboard")
        console.print(f"API docs:         {url}/docs")
        console.print(f"demo team {DEMO_TEAM!r} token: {token}")
        if smoke:
            result = wait_for(url, token, accepted["id"], timeout)
            if result["status"] != Status.SCORED:
                raise RuntimeError(f"the seeded submission failed: {result['reason']}")
            print_leaderboard(url, phase)
            return
        console.print("press Ctrl-C to stop")
        while all(child.poll() is None for child in children):
            time.sleep(1)
        raise RuntimeError("a demo process stopped")
    except KeyboardInterrupt:
        pass
    except (RuntimeError, TimeoutError, httpx.HTTPError) as err:
        fail(str(err))
    finally:
        stop(children)
