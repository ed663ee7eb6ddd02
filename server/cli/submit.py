"""``srchallenge submit``: the participant's side of the REST API, from the command line."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.markup import escape

from server.cli.options import JsonOpt, PhaseOpt
from server.cli.output import console, err_console, fail, print_json
from server.models import Status

FINAL_STATUSES = (Status.SCORED, Status.FAILED, Status.CANCELLED)


def upload(server: str, phase: str, token: str, path: Path, fields: dict[str, str]) -> dict:
    with path.open("rb") as handle, httpx.Client(base_url=server, timeout=600) as client:
        response = client.post(f"/api/v1/phases/{phase}/submissions", headers={"Authorization": f"Bearer {token}"},
                               files={"file": (path.name, handle, "application/zip")}, data=fields)
    if response.status_code != 202:
        raise RuntimeError(f"upload refused ({response.status_code}): {response.json().get('detail', response.text)}")
    return response.json()


def poll_pause(waited_s: float) -> float:
    """The pause before the next look at a submission: a twentieth of the wait so far (at most 5 %
    added to it), from 0.1 s (a results zip is scored in about a second; a fixed half-second pause
    added a quarter of one on average) up to 2 s (a code re-run takes minutes), so a long wait
    costs few of the team's requests."""
    return min(max(waited_s / 20, 0.1), 2.0)


def wait_for(server: str, token: str, submission_id: str, timeout_s: float,
             on_status: Callable[[str], None] | None = None) -> dict:
    """Poll until the submission is final; ``on_status`` hears each status once, when it changes."""
    deadline = time.monotonic() + timeout_s
    started, last_status = time.monotonic(), None
    with httpx.Client(base_url=server, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
        while True:
            body = client.get(f"/api/v1/submissions/{submission_id}").raise_for_status().json()
            if on_status is not None and body["status"] != last_status:
                on_status(body["status"])
            last_status = body["status"]
            if body["status"] in FINAL_STATUSES:
                return body
            if time.monotonic() > deadline:
                raise TimeoutError(f"submission {submission_id} still {body['status']} after {timeout_s:.0f} s")
            time.sleep(poll_pause(time.monotonic() - started))


def submit(
    file: Path,
    phase: PhaseOpt,
    token: Annotated[str, typer.Option(envvar="SRCHALLENGE_TOKEN", help="team token")],
    server: Annotated[str, typer.Option(envvar="SRCHALLENGE_SERVER")] = "http://127.0.0.1:8000",
    kind: Annotated[str | None, typer.Option(help="results or code (default: guessed from the zip)")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="wait until scored, failed or cancelled")] = False,
    timeout: float = 3600,
    as_json: JsonOpt = False,
):
    """Upload a results zip (or a code zip) to a phase.

    What the server says the team must know (the upload's ``notice``: e.g. that a results zip is
    not ranked where the phase ranks measured figures) is printed on stderr, and kept in --json.
    """
    competition, _, phase_slug = phase.partition("/")
    if not competition or not phase_slug or "/" in phase_slug:
        fail(f"--phase must be COMPETITION/PHASE, e.g. aim2019/validation (got {phase!r})")
    if not file.is_file():
        fail(f"{file} is not a file")
    try:
        accepted = upload(server, phase, token, file, {"kind": kind} if kind else {})
        if accepted.get("notice"):
            err_console.print(f"[yellow]note:[/yellow] {escape(accepted['notice'])}", soft_wrap=True)
        if as_json and not wait:
            print_json(accepted)
        elif not as_json:
            console.print(f"submission {accepted['id']} accepted ({accepted['kind']})")
        if not wait:
            return
        started = time.monotonic()
        result = wait_for(server, token, accepted["id"], timeout, on_status=lambda status: err_console.print(
            f"{time.monotonic() - started:5.0f} s  submission {accepted['id']}: {status}", highlight=False))
    except (RuntimeError, TimeoutError, httpx.HTTPError) as err:
        fail(str(err))
    if as_json:
        print_json(result)
    if result["status"] in (Status.FAILED, Status.CANCELLED):
        fail(f"submission {result['id']} {result['status']}: {result['reason']}")
    if not as_json:
        console.print(f"submission {result['id']} scored: PSNR {result['psnr']:.4f} dB")
