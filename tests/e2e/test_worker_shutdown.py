"""A worker stopped with SIGTERM, or killed with SIGKILL, leaves no process behind: not its pool
processes, not the parallel scorer's forkserver and processes, not multiprocessing's resource
tracker (before: they stayed for minutes with PPID 1). Only the worker's main process is signalled,
as an organizer or a service manager would do; its session is watched through /proc."""

import os
import signal
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
