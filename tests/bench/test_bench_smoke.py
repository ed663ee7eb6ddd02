"""Each bench script runs in its ``--quick`` mode and prints its table, so that none of them rots.

Nothing is timed here: the figures of a quick run mean nothing (docs/benchmarks.md has the real
ones and how to reproduce them).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCHES = ["score_zip", "scorer_memory", "dataset_import", "leaderboard_api", "upload", "upload_burst",
           "end_to_end", "runtime_harness", "code_rerun", "same_network", "fairness"]


@pytest.mark.parametrize("bench", BENCHES)
def test_bench_runs_and_prints_its_table(bench, tmp_path):
    if bench in ("runtime_harness", "code_rerun", "same_network") and (os.geteuid() != 0 or shutil.which("unshare") is None):
        pytest.skip("the code-submission sandbox runs as root and needs util-linux unshare")
    env = {**os.environ, "SRCHALLENGE_BENCH_OUT": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", f"bench.{bench}", "--quick"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| figure | measured | reference (same run) | goal | met |" in result.stdout
    assert result.stdout.count("\n| ") >= 2, result.stdout
