"""The embedded default, as a user runs it: `srchallenge demo --smoke` (SQLite, filesystem broker,
API and one real worker process), on a fresh data dir."""

import os
import subprocess
import sys

from bench.stack import REPO, free_port


def test_demo_smoke_scores_the_seeded_submission(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SRCHALLENGE_")}
    env["SRCHALLENGE_DATA_DIR"] = str(tmp_path / "var")
    result = subprocess.run([sys.executable, "-m", "server.cli", "demo", "--smoke", "--port", str(free_port())],
                            env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "demo team 'demo-bicubic' token: srt_" in out
    assert "/competitions/aim2019" in out
    assert "Track 3: Fidelity" in out and "demo-bicubic" in out
    # the bundle's 29.00 dB is MSRResNet's DIV2K figure: on the demo's photos it is shown as not
    # measured (with why), never as a number that bicubic beats
    fidelity = board_lines(out, "Track 3: Fidelity")
    baseline = next(line for line in fidelity if "Baseline" in line)
    assert baseline.split()[:5] == ["−", "Baseline", "PSNR", "not", "measured"]
    assert "not measured on this phase's images" in baseline and "DIV2K" in baseline
    assert (tmp_path / "var" / "srchallenge.db").is_file()
    assert len(list((tmp_path / "var" / "private" / "aim2019" / "validation" / "hr").glob("*.npy"))) == 10



def board_lines(out: str, title: str) -> list[str]:
    section = out.split(title, 1)[1]
    return [line for line in section.splitlines()[1:] if line.startswith("  ")][:2]
