"""``srchallenge baseline``: the baseline's figures of a phase — set, measured, their history, going back."""

import time
from typing import Annotated

import typer

from server.cli.backend import Backend, backend_for
from server.cli.options import JsonOpt, PhaseArg, PhaseOpt, ServerOpt, TokenOpt
from server.cli.output import console, err_console, fail, print_json, service_errors
from server.models import BaselineStatus
from server.services.errors import NotFound

app = typer.Typer(help="The baseline's figures of a phase: set, measure, history, revert.", no_args_is_help=True)
POLL_S = 0.5
FINISHED = (BaselineStatus.DONE, BaselineStatus.REFUSED, BaselineStatus.FAILED)


def describe(row: dict) -> str:
    psnr = f"{row['psnr']:.2f} dB" if row["psnr"] is not None else f"PSNR not measured ({row['psnr_note'] or '?'})"
    runtime = "—" if row["runtime"] is None else f"{row['runtime']:.4f} s"
    device = f" on {row['runtime_device']}" if row["runtime_device"] else ""
    return f"{psnr}, {row['params']:,} parameters, {runtime}{device}" if row["params"] else f"{psnr}, {runtime}{device}"


@app.command("set")
def set_(
    phase: PhaseArg,
    psnr: Annotated[float | None, typer.Option(help="the baseline's PSNR (dB) on this phase's images")] = None,
    psnr_not_measured: Annotated[str | None, typer.Option(
        "--psnr-not-measured", metavar="REASON",
        help="no true PSNR for these images is known: show it as not measured, with this reason")] = None,
    params: Annotated[int | None, typer.Option(help="the baseline's parameter count")] = None,
    runtime: Annotated[float | None, typer.Option(help="the baseline's runtime, seconds per image")] = None,
    device: Annotated[str | None, typer.Option(help="the device --runtime was taken on, e.g. 'NVIDIA H200'")] = None,
    force: Annotated[bool, typer.Option("--force", help="accept a --device of another class than the phase's")]
    = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
):
    """Set some of a phase's baseline figures (the others stay); the old ones stay in the history."""
    from server.schemas_admin import BaselineSetRequest

    if psnr is None and psnr_not_measured is None and params is None and runtime is None:
        fail("give at least one of --psnr, --psnr-not-measured, --params, --runtime")
    if device is not None and runtime is None:
        fail("--device names the device of a --runtime you give")
    request = BaselineSetRequest(psnr=psnr, psnr_not_measured=psnr_not_measured, params=params, runtime=runtime,
                                 device=device, force=force)
    with service_errors():
        row = backend_for(server, token).set_baseline(phase, request).model_dump(mode="json")
    if as_json:
        print_json(row)
        return
    console.print(f"baseline of {phase} is now {describe(row)} (version #{row['version']}; "
                  f"`srchallenge baseline revert {phase}` goes back)", soft_wrap=True)


@app.command("history")
def history(phase: PhaseArg, server: ServerOpt = None, token: TokenOpt = None, as_json: JsonOpt = False):
    """Every version of the phase's baseline figures and every measurement, oldest first."""
    from rich.table import Table

    with service_errors():
        rows = [v.model_dump(mode="json") for v in backend_for(server, token).baseline_history(phase)]
    current = next((r["version"] for r in reversed(rows) if r["status"] == BaselineStatus.DONE), None)
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"baseline of {phase}")
    for column in ("version", "source", "status", "by", "at", "figures", "note"):
        table.add_column(column)
    for r in rows:
        figures = describe(r) if r["status"] == BaselineStatus.DONE else "—"
        table.add_row(f"#{r['version']}" + (" (current)" if r["version"] == current else ""), r["source"],
                      r["status"], r["actor"], r["at"][:19], figures, r["reason"] or r["runtime_note"] or "")
    console.print(table)


@app.command("revert")
def revert(phase: PhaseArg,
           to: Annotated[int | None, typer.Option(help="the version to restore (default: the one before)")] = None,
           server: ServerOpt = None, token: TokenOpt = None, as_json: JsonOpt = False):
    """Restore an earlier version of the phase's baseline figures (a new version; nothing is deleted)."""
    with service_errors():
        row = backend_for(server, token).revert_baseline(phase, to).model_dump(mode="json")
    if as_json:
        print_json(row)
        return
    console.print(f"baseline of {phase} is back to {describe(row)} ({row['reason']}, now version #{row['version']})",
                  soft_wrap=True)


@app.command("measure")
def measure(
    phase: PhaseOpt,
    force: Annotated[bool, typer.Option("--force", help="record the figure even from a worker of another device "
                                                        "class than the phase's (a CPU worker for a GPU phase)")]
    = False,
    wait: Annotated[bool, typer.Option("--wait", help="follow the measurement until it ends")] = False,
    timeout: Annotated[float, typer.Option(help="seconds --wait waits")] = 3600,
    server: ServerOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
):
    """Time the baseline on a worker of queue `gpu` and record it as the phase's baseline runtime.

    The device it ran on is recorded with the figure; a worker of another device class than the
    phase's refuses (unless --force), so a CPU worker cannot silently replace a GPU figure.
    """
    from server.queue import GPU_QUEUE

    with service_errors():
        backend = backend_for(server, token)
        queued = backend.measure_baseline(phase, force).model_dump(mode="json")
    record_id = queued["version"]
    if not wait and as_json:
        print_json(queued)
    elif not wait:
        refusal = "" if force else "; a worker of another device class than the phase's refuses it"
        console.print(f"baseline measurement #{record_id} of {phase} queued on '{GPU_QUEUE}'{refusal}; "
                      f"`srchallenge baseline history {phase}` follows it", soft_wrap=True)
    if not wait:
        return
    with service_errors():
        row = follow(backend, phase, record_id, timeout)
    if as_json:
        print_json(row)
    elif row["status"] == BaselineStatus.DONE:
        console.print(f"baseline of {phase} measured: {row['runtime_note']} (version #{row['version']})",
                      soft_wrap=True)
    if row["status"] != BaselineStatus.DONE:
        fail(f"baseline measurement #{record_id} {row['status']}: {row['reason']}")


def follow(backend: Backend, phase: str, record_id: int, timeout_s: float) -> dict:
    """Poll the phase's baseline history (locally or over the API) for the measurement's record,
    printing a line on stderr whenever its state or stage changes, until it ends."""
    deadline = time.monotonic() + timeout_s
    started = time.monotonic()
    shown = None
    while True:
        row = next((v.model_dump(mode="json") for v in backend.baseline_history(phase) if v.version == record_id),
                   None)
        if row is None:
            raise NotFound(f"baseline measurement #{record_id} is not in the history of {phase}")
        if row["status"] in FINISHED:
            return row
        where = f" on {row['worker']}" if row["worker"] else ", waiting for a worker of queue 'gpu'"
        stage = f": {row['stage']}" if row["stage"] else ""
        now = f"baseline measurement #{record_id} {row['status']}{where}{stage}"
        if now != shown:
            err_console.print(f"{time.monotonic() - started:5.0f} s  {now}", highlight=False, soft_wrap=True)
            shown = now
        if time.monotonic() > deadline:
            fail(f"measurement #{record_id} still {row['status']} after {timeout_s:g} s; it goes on "
                 "(`srchallenge baseline history` follows it)")
        time.sleep(POLL_S)
