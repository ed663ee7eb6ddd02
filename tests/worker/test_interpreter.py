"""The sandbox runs the worker's own Python environment, whatever its install layout (issue 13.1).

A fresh virtualenv is made without pip (a fraction of a second) with a module of its own in its
site-packages; the launcher is started with that venv's interpreter and runs, in a real sandbox,
a command that imports the module. Resolving the venv's ``bin/python`` link (the old code) starts
the base interpreter, which has neither the module nor the venv's ``sys.prefix``.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAUNCH = """
import json, sys
from pathlib import Path
sys.path[:0] = sys.argv[2:]  # the repository and the worker's own dependencies (settings, seccomp binding)
from worker.sandbox.launcher import SandboxLimits, run_in_sandbox
work = Path(sys.argv[1])
(work / "in").mkdir()
command = "import json, sys, venv_marker; print(json.dumps([sys.prefix, venv_marker.WHERE]))"
limits = SandboxLimits(wall_seconds=30, cpu_seconds=30, memory_bytes=1 << 30, disk_bytes=8 << 20)
run = run_in_sandbox(["python", "-c", command], work / "in", work / "job", limits, hidden=[], outputs=[])
print(json.dumps({"status": run.status, "log": run.log}))
"""


def needs_sandbox() -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("the sandbox runs as root (per-job uids) and needs util-linux unshare")


def base_python() -> str:
    """The interpreter a venv is made from: the base one, even when the tests run in a venv."""
    return getattr(sys, "_base_executable", sys.executable)


def make_venv(where: Path, copies: bool) -> Path:
    subprocess.run([base_python(), "-m", "venv", "--without-pip", *(["--copies"] if copies else []), str(where)],
                   check=True, timeout=60)
    purelib = sysconfig.get_path("purelib", vars={"base": str(where), "platbase": str(where)})
    (Path(purelib) / "venv_marker.py").write_text(f"WHERE = {str(where)!r}\n")
    return where


@pytest.mark.parametrize("layout", ["links", "copies", "linked-folder"])
def test_sandbox_runs_the_workers_own_venv(layout, tmp_path):
    needs_sandbox()
    env_dir = make_venv(tmp_path / "venv", copies=layout == "copies")
    python = env_dir / "bin" / "python"
    if layout == "linked-folder":  # the venv reached through a link to its folder (e.g. /opt/app -> /srv/app-1.2)
        (tmp_path / "current").symlink_to(env_dir)
        python = tmp_path / "current" / "bin" / "python"
    if layout == "links":
        assert python.is_symlink(), "venv made links on this platform"
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run([str(python), "-I", "-c", LAUNCH, str(work), str(REPO), sysconfig.get_path("purelib")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["status"]["exit_code"] == 0, outcome["log"]
    prefix, marker = json.loads(outcome["log"].strip().splitlines()[-1])
    assert os.path.realpath(prefix) == os.path.realpath(env_dir) == os.path.realpath(marker)

