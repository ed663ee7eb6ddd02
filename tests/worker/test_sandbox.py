"""The sandbox launcher on its own (no model): what a job leaves behind when its worker dies, and
what it can reach of the worker's kernel state. docs/security.md maps each threat to its test."""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from server.config import Settings
from worker.evaluate import sandbox_limits
from worker.sandbox.launcher import SANDBOX_UIDS

needs_sandbox = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                                   reason="the sandbox runs as root (per-job uids) and needs util-linux")

WORKER = """
import sys
from pathlib import Path
from worker.sandbox.launcher import SandboxLimits, run_in_sandbox

work = Path(sys.argv[1])
(work / "in").mkdir()
run_in_sandbox(["python", "-c", sys.argv[2], sys.argv[3]], work / "in", work / "job",
               SandboxLimits(wall_seconds=60, threads=1), hidden=[], outputs=[])
"""


def sandboxed_processes(marker: str) -> list[int]:
    """Processes running as a sandbox uid whose command line carries ``marker``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and proc.stat().st_uid in SANDBOX_UIDS \
                    and marker.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def start_worker(tmp_path: Path, code: str) -> tuple[subprocess.Popen, str]:
    """A stand-in for a worker process: runs ``code`` in the sandbox and waits for it."""
    marker = f"marker-{uuid.uuid4().hex}"
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), code, marker])
    return worker, marker


@needs_sandbox
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_worker_killed_mid_run_leaves_no_sandboxed_process(sig, tmp_path):
    """A forking job whose worker is killed: the whole job dies with it, not at its wall limit."""
    code = "import os, time\nos.fork()\nos.fork()\ntime.sleep(1000)"
    worker, marker = start_worker(tmp_path, code)
    try:
        assert wait_until(lambda: len(sandboxed_processes(marker)) == 4, 60), "the job did not start"
        worker.send_signal(sig)
        worker.wait(timeout=10)
        assert wait_until(lambda: not sandboxed_processes(marker), 3), sandboxed_processes(marker)
    finally:
        worker.kill()
        for pid in sandboxed_processes(marker):
            os.kill(pid, signal.SIGKILL)


def test_sandbox_limits_are_settings(monkeypatch):
    """Every limit a deployment may need to change is an SRCHALLENGE_SANDBOX_* setting."""
    values = {"MEMORY_BYTES": 3 << 30, "WALL_SECONDS": 7, "CPU_SECONDS": 11, "PROCESSES": 13, "OPEN_FILES": 17,
              "FILE_SIZE_BYTES": 19 << 20, "DISK_BYTES": 23 << 20, "OUTPUT_FILES": 29, "OUTPUT_BYTES": 31 << 20,
              "OUTPUT_SECONDS": 37, "CPU_JOB_THREADS": 2, "GPU_MEMORY_FRACTION": 0.5}
    for name, value in values.items():
        monkeypatch.setenv(f"SRCHALLENGE_SANDBOX_{name}", str(value))
    limits = sandbox_limits(Settings())
    for name, value in values.items():
        field = name.lower().replace("cpu_job_threads", "threads")
        assert getattr(limits, field) == value, name
