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


KEYRING_WORKER = """
import ctypes, sys
from pathlib import Path
import pyseccomp
from worker.sandbox.launcher import SandboxLimits, run_in_sandbox

libc = ctypes.CDLL(None, use_errno=True)
keyctl, add_key = (pyseccomp.resolve_syscall(pyseccomp.system_arch(), n) for n in ("keyctl", "add_key"))
assert libc.syscall(keyctl, 1, b"worker-session") > 0  # KEYCTL_JOIN_SESSION_KEYRING, as systemd gives one
serial = libc.syscall(add_key, b"user", b"worker-secret", b"s3cret", 6, ctypes.c_long(-3))
job = f'''
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(64)
n = libc.syscall({keyctl}, 11, {serial}, buf, 64)
print("read:", buf.raw[:max(n, 0)])
print("added:", libc.syscall({add_key}, b"user", b"left-behind", b"x", 1, ctypes.c_long(-3)))
'''
work = Path(sys.argv[1])
(work / "in").mkdir()
run = run_in_sandbox(["python", "-c", job], work / "in", work / "job", SandboxLimits(wall_seconds=60, threads=1),
                     hidden=[], outputs=[])
print(run.log)
serials = ctypes.create_string_buffer(4096)
print("worker session keys:", libc.syscall(keyctl, 11, ctypes.c_long(-3), serials, 4096) // 4)
"""


@needs_sandbox
def test_a_job_cannot_read_the_workers_keys_and_leaves_none_behind(tmp_path):
    """Run where the worker has a session keyring (systemd's default) holding a key of its own."""
    worker = subprocess.run([sys.executable, "-c", KEYRING_WORKER, str(tmp_path)], capture_output=True, text=True,
                            timeout=120)
    assert worker.returncode == 0, worker.stderr
    assert "read: b''" in worker.stdout and "s3cret" not in worker.stdout
    assert "worker session keys: 1" in worker.stdout


@needs_sandbox
def test_host_paths_are_not_visible_from_the_sandbox(tmp_path):
    """PID 1's command line and the mount table name no folder of the worker's."""
    from worker.sandbox.launcher import SandboxLimits, run_in_sandbox

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "input.txt").write_text("data")
    job = ("import glob\nfor path in ['/proc/1/cmdline', '/proc/self/mountinfo', '/proc/1/mountinfo',"
           " '/proc/1/environ', *glob.glob('/proc/[0-9]*/cmdline')]:\n"
           "    try:\n        print(path, open(path, 'rb').read())\n"
           "    except OSError as exc:\n        print(path, exc)\n"
           "print(open('/sandbox/in/input.txt').read())")
    run = run_in_sandbox(["python", "-c", job], tmp_path / "in", tmp_path / "job",
                         SandboxLimits(wall_seconds=60, threads=1), hidden=[], outputs=[])
    assert "/proc/1/cmdline b'" in run.log and "/proc/self/mountinfo b'" in run.log and "data" in run.log
    assert str(tmp_path) not in run.log


@needs_sandbox
def test_the_syscall_filter_denies_kernel_surface_a_model_never_needs(tmp_path):
    """New namespaces, io_uring, keyrings, BPF, userfaultfd, ptrace, perf: each refused with EPERM."""
    import pyseccomp

    from worker.sandbox.launcher import SandboxLimits, run_in_sandbox

    numbers = {name: pyseccomp.resolve_syscall(pyseccomp.system_arch(), name)
               for name in ("unshare", "io_uring_setup", "keyctl", "bpf", "userfaultfd", "ptrace", "perf_event_open")}
    job = f"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(256)
calls = {{"unshare": (0x10000000,), "io_uring_setup": (1, buf), "keyctl": (0, ctypes.c_long(-3), 0),
         "bpf": (0, buf, 64), "userfaultfd": (0,), "ptrace": (0, 0, 0, 0), "perf_event_open": (buf, 0, -1, -1, 0)}}
for name, args in calls.items():
    result = libc.syscall({numbers!r}[name], *args)
    print(name, "denied" if result == -1 and ctypes.get_errno() == 1 else f"returned {{result}}")
"""
    (tmp_path / "in").mkdir()
    run = run_in_sandbox(["python", "-c", job], tmp_path / "in", tmp_path / "job",
                         SandboxLimits(wall_seconds=60, threads=1), hidden=[], outputs=[])
    assert sorted(line for line in run.log.splitlines() if line) == sorted(f"{name} denied" for name in numbers)


@needs_sandbox
def test_tmp_is_the_scratch_even_where_the_runtime_lives_under_tmp(tmp_path, monkeypatch):
    """CI keeps its venv under /tmp: /tmp was then a read-only folder holding the runtime's bind,
    and a model writing a temporary file failed with 'Read-only file system'."""
    from worker.sandbox import launcher

    runtime = tmp_path / "runtime"
    runtime.mkdir()
    (runtime / "lib.txt").write_text("runtime file")
    monkeypatch.setattr(launcher, "readonly_binds", lambda real=launcher.readonly_binds: real() + [str(runtime)])
    (tmp_path / "in").mkdir()
    job = (f"import os\nprint(open('{runtime}/lib.txt').read())\n"
           f"try:\n    open('{runtime}/new', 'w')\nexcept OSError as exc:\n    print('runtime:', exc.strerror)\n"
           "open('/tmp/note', 'w').write('kept')\nprint('tmp:', open('/tmp/note').read())\n"
           "try:\n    open('/tmp/big', 'wb').write(bytes(8 << 20))\n"
           "except OSError as exc:\n    print('big:', exc.strerror)\n"
           "os.remove('/tmp/big')\n"
           # found in review: the runtime's parent folders were the command's own, so it could move
           # them aside and put its files at the runtime's path for a later interpreter
           f"top = '/tmp/{runtime.parts[2]}'\n"
           "try:\n    os.rename(top, '/tmp/moved')\nexcept OSError as exc:\n    print('rename:', exc.strerror)\n"
           "try:\n    open(top + '/mine', 'w')\nexcept OSError as exc:\n    print('create:', exc.strerror)\n"
           "open('/tmp/run.sh', 'w').write('#!/bin/sh\\necho ran')\nos.chmod('/tmp/run.sh', 0o755)\n"
           "try:\n    os.execv('/tmp/run.sh', ['run.sh'])\nexcept OSError as exc:\n    print('exec:', exc.strerror)\n")
    run = launcher.run_in_sandbox(["python", "-c", job], tmp_path / "in", tmp_path / "job",
                                  launcher.SandboxLimits(wall_seconds=60, threads=1, disk_bytes=4 << 20),
                                  hidden=[], outputs=[])
    assert "runtime file" in run.log, run.log
    assert "runtime: Read-only file system" in run.log
    assert "tmp: kept" in run.log
    assert "big: No space left on device" in run.log  # /tmp shares the one disk limit
    assert "rename: Device or resource busy" in run.log and "create: Read-only file system" in run.log
    assert "exec: Permission denied" in run.log  # noexec kept on /tmp (a bind of the noexec scratch)
