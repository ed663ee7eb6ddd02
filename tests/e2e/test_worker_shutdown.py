"""A worker stopped with SIGTERM, or killed with SIGKILL, leaves no process behind: not its pool
processes, not the parallel scorer's forkserver and processes, not multiprocessing's resource
tracker (before: they stayed for minutes with PPID 1). Only the worker's main process is signalled,
as an organizer or a service manager would do; its session is watched through /proc. Killed in the
middle of a job, its job runs again on another worker within about a lease."""

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from bench.stack import start_stack


@pytest.fixture(scope="module")
def bare_stack(tmp_path_factory):
    stack = start_stack(tmp_path_factory.mktemp("shutdown"), image_count=4)
    stack.stop("worker")
    yield stack
    stack.close()


def session_processes(sid: int) -> list[str]:
    """Live processes (not zombies) of session ``sid`` other than its leader: pid and command."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == sid:
            continue
        try:
            state, _ppid, _pgrp, session = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:4]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
        except (OSError, ValueError):
            continue
        if int(session) == sid and state != "Z":
            found.append(f"{entry.name} {command}")
    return found


def wait_until(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_stopped_or_killed_worker_leaves_no_process_behind(bare_stack, sig):
    name = f"worker-{sig.name.lower()}"
    worker = bare_stack.start_worker(name)
    log = bare_stack.root / f"{name}.log"
    assert wait_until(lambda: "ready" in log.read_text(errors="replace"), 120), "the worker did not start"
    assert bare_stack.submit_and_wait(bare_stack.results_zip())["status"] == "scored"
    running = session_processes(worker.pid)
    assert any("forkserver" in line for line in running), f"the parallel scorer's forkserver should run: {running}"
    os.kill(worker.pid, sig)
    worker.wait(timeout=60)
    bare_stack.procs.pop(name)
    assert wait_until(lambda: not session_processes(worker.pid), 20), session_processes(worker.pid)
    if sig == signal.SIGTERM:
        assert "leaked semaphore" not in log.read_text(errors="replace")


@pytest.fixture(scope="module")
def busy_stack(tmp_path_factory):
    """Images large enough that a job is still scoring when its worker is killed; default lease."""
    stack = start_stack(tmp_path_factory.mktemp("killed-mid-job"), image_count=12, size=(768, 1024),
                        settings={"MAX_UPLOAD_BYTES": str(200 * 1024 * 1024)})
    stack.stop("worker")
    yield stack
    stack.close()


def run_of(stack, public_id: str) -> tuple[str, int]:
    with sqlite3.connect(stack.data_dir / "srchallenge.db") as db:
        return db.execute("SELECT r.status, r.deliveries FROM scoring_runs r JOIN submissions s "
                          "ON s.id = r.submission_id WHERE s.public_id = ?", (public_id,)).fetchone()


def test_a_worker_killed_mid_job_leaves_nothing_behind_and_its_job_runs_again_soon(busy_stack):
    """Before: its scorer's forkserver, a scorer and the resource tracker stayed under PID 1, and
    the job ran again only after 142 s (a 120 s lease)."""
    victim = busy_stack.start_worker("victim")
    assert wait_until(lambda: "ready" in (busy_stack.root / "victim.log").read_text(errors="replace"), 120)
    response = busy_stack.upload(busy_stack.results_zip())
    assert response.status_code == 202, response.text
    public_id = response.json()["id"]
    assert wait_until(lambda: any("forkserver" in p for p in session_processes(victim.pid)), 120), \
        session_processes(victim.pid)
    assert run_of(busy_stack, public_id) == ("running", 1)
    os.kill(victim.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    busy_stack.start_worker("rescuer")
    victim.wait(timeout=60)
    busy_stack.procs.pop("victim")
    assert wait_until(lambda: not session_processes(victim.pid), 20), session_processes(victim.pid)
    assert wait_until(lambda: run_of(busy_stack, public_id)[1] == 2, 60), run_of(busy_stack, public_id)
    assert time.monotonic() - killed_at < 60, "seen within about a lease (30 s) and a heartbeat (5 s)"
    assert busy_stack.wait_scored(public_id, timeout_s=120)["status"] == "scored"
