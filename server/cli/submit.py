"""``srchallenge submit``: the participant's side of the REST API, from the command line."""

import time
from datetime import datetime
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
RETRIED_STATUSES = (429, 503)
MAX_TRIES = 5
MAX_RETRY_WAIT_S = 120.0
"""A server that asks for longer (a daily quota: hours) is not waited for: the command says when."""


def retry_after_s(response: httpx.Response) -> float | None:
    """The response's Retry-After in seconds (the delay form; an HTTP date is not waited for)."""
    try:
        return max(float(response.headers["Retry-After"]), 0.0)
    except (KeyError, ValueError):
        return None


def detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text


def send_retrying(send: Callable[[], httpx.Response], doing: str) -> httpx.Response:
    """``send()``, again after the server's Retry-After while it answers 429 or 503 with one (an
    overload, a database restart), at most MAX_TRIES times and never for longer than
    MAX_RETRY_WAIT_S at once; each wait is said on stderr. Returns the last response."""
    attempt = 1
    while True:
        response = send()
        wait = retry_after_s(response) if response.status_code in RETRIED_STATUSES else None
        if wait is None or attempt == MAX_TRIES:
            return response
        if wait > MAX_RETRY_WAIT_S:
            err_console.print(f"{doing}: the server asks to wait {wait:.0f} s, longer than the "
                              f"{MAX_RETRY_WAIT_S:.0f} s this command waits; not retried", highlight=False,
                              soft_wrap=True)
            return response
        err_console.print(f"{doing}: {response.status_code} {escape(detail(response))}; retrying in {wait:g} s "
                          f"(try {attempt + 1} of {MAX_TRIES})", highlight=False, soft_wrap=True)
        time.sleep(wait)
        attempt += 1


def upload(server: str, phase: str, token: str, path: Path, fields: dict[str, str]) -> dict:
    def send() -> httpx.Response:
        with path.open("rb") as handle:
            return client.post(f"/api/v1/phases/{phase}/submissions", headers={"Authorization": f"Bearer {token}"},
                               files={"file": (path.name, handle, "application/zip")}, data=fields)

    with httpx.Client(base_url=server, timeout=600) as client:
        response = send_retrying(send, "upload")
    if response.status_code != 202:
        raise RuntimeError(f"upload refused ({response.status_code}): {detail(response)}")
    return response.json()


def progress(body: dict) -> str:
    """The status, a running run's stage, and while queued the place in line and the expected start."""
    state = body["status"] + (f": {body['stage']}" if body.get("stage") else "")
    if not body.get("queue_position"):
        return state
    start = body.get("estimated_start")
    expected = f", expected to start about {datetime.fromisoformat(start):%H:%M:%S} UTC" if start else ""
    return f"{state} ({body['queue_position']} in line{expected})"


def wait_for(server: str, token: str, submission_id: str, timeout_s: float, poll_s: float = 0.5,
             on_status: Callable[[str], None] | None = None) -> dict:
    """Poll until the submission is final; ``on_status`` hears each ``progress`` once, when it changes
    (a running run's stage: "running: scoring image 3 of 100"; a queued one's place in line)."""
    deadline = time.monotonic() + timeout_s
    last_status = None
    with httpx.Client(base_url=server, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
        while True:
            body = send_retrying(lambda: client.get(f"/api/v1/submissions/{submission_id}"),
                                 f"submission {submission_id}").raise_for_status().json()
            state = progress(body)
            if on_status is not None and state != last_status:
                on_status(state)
            last_status = state
            if body["status"] in FINAL_STATUSES:
                return body
            if time.monotonic() > deadline:
                raise TimeoutError(f"submission {submission_id} still {body['status']} after {timeout_s:.0f} s")
            time.sleep(poll_s)


def submit(
    file: Path,
    phase: PhaseOpt,
    token: Annotated[str, typer.Option(envvar="SRCHALLENGE_TOKEN", help="team token")],
    server: Annotated[str, typer.Option(envvar="SRCHALLENGE_SERVER")] = "http://127.0.0.1:8000",
    kind: Annotated[str | None, typer.Option(help="results or code (default: guessed from the zip)")] = None,
    params: Annotated[int | None, typer.Option(min=0, help="your model's parameter count (self-reported)")] = None,
    runtime: Annotated[float | None, typer.Option(min=0, help="your runtime, seconds per image (self-reported)")]
    = None,
    runtime_baseline: Annotated[float | None, typer.Option(
        min=0, help="MSRResNet's runtime on your machine, seconds per image (self-reported)")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="wait until scored, failed or cancelled")] = False,
    timeout: float = 3600,
    as_json: JsonOpt = False,
):
    """Upload a results zip (or a code zip) to a phase.

    What the server says the team must know (the upload's ``notice``: e.g. that a results zip is
    not ranked where the phase ranks measured figures) is printed on stderr, and kept in --json.
    --params, --runtime and --runtime-baseline are sent as the form fields of the same names (they
    take precedence over the zip's readme.txt). A 429 or 503 with Retry-After is retried (at most
    5 tries, each wait said on stderr, none over 2 minutes).
    """
    competition, _, phase_slug = phase.partition("/")
    if not competition or not phase_slug or "/" in phase_slug:
        fail(f"--phase must be COMPETITION/PHASE, e.g. aim2019/validation (got {phase!r})")
    if not file.is_file():
        fail(f"{file} is not a file")
    try:
        given = {"kind": kind, "params": params, "runtime": runtime, "runtime_baseline": runtime_baseline}
        accepted = upload(server, phase, token, file, {k: str(v) for k, v in given.items() if v is not None})
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
