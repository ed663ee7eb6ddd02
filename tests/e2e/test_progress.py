"""Progress of long jobs on a real deployment (redis, API, worker): `baseline measure --wait` says
each stage as the worker reaches it and, stopped at the sandbox's wall time, names the setting
(it was silent for minutes, then failed without it); a team's code run at "running" shows its stage.

The module has its own stack with a 3 s wall time per sandboxed stage. The team's model sleeps in
its build, so it is stopped in the first stage (building and exporting), which lasts the whole 3 s:
the 0.5 s polls cannot miss it. The baseline is stopped in whichever stage passes 3 s on this machine
(its export alone took longer than 3 s on one machine and not on CI's), so its error must name the
stage it was last said to be in.
"""

import time

import pytest

from bench.stack import start_stack, zip_bytes

SLOW_MODEL = b"""
import time
import torch


def build_model():
    time.sleep(60)
    return torch.nn.Identity()
"""
STAGE_1 = "building and exporting the model (sandbox stage 1 of 2, at most 3 s)"
STAGE_2_START = "measuring: parameters, MACs,"


@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    stack = start_stack(tmp_path_factory.mktemp("progress"), image_count=2, settings={"SANDBOX_WALL_SECONDS": "3"})
    yield stack
    stack.close()


def test_baseline_measure_wait_shows_the_stages_and_names_the_wall_time_setting(slow):
    result = slow.cli("baseline", "measure", "--phase", "aim2019/validation", "--force", "--wait", check=False)
    said = result.stderr
    assert result.returncode == 1, said
    assert "running on worker@" in said and f": {STAGE_1}" in said
    error = " ".join(said.split("error:", 1)[1].split())
    stopped_in = "being measured" if f": {STAGE_2_START}" in said else "building and exporting it"
    assert f"stopped after the wall-time limit of 3 s while {stopped_in}" in error
    assert "each sandboxed stage may run 3 s (SRCHALLENGE_SANDBOX_WALL_SECONDS on the worker)" in error


def test_a_running_code_run_shows_the_team_its_stage(slow):
    response = slow.upload(zip_bytes({"model.py": SLOW_MODEL}), phase="aim2019/test")
    assert response.status_code == 202, response.text
    url = f"/api/v1/submissions/{response.json()['id']}"
    seen = set()
    deadline = time.monotonic() + 120
    with slow.client() as client:
        while (body := client.get(url).json())["status"] not in ("scored", "failed"):
            assert time.monotonic() < deadline, body
            if body["status"] == "running":
                seen.add(body["stage"])
            time.sleep(0.2)
    assert STAGE_1 in seen
    assert body["stage"] is None and "wall-time limit of 3 s while building and exporting it" in body["reason"]
    assert "SRCHALLENGE_" not in body["reason"]
