"""The stages a code re-run reports as the trusted side starts them (the team and the organizer
saw only "running" for minutes), and a stage stopped at its wall time saying which setting bounds it."""

import os
import shutil

import pytest

from server.config import Settings
from worker.baseline import failure_reason
from worker.code_eval import CodeRunError, evaluate_code_submission
from worker.sandbox.launcher import SandboxLimits
from tests.worker.conftest import KEYS


@pytest.fixture(autouse=True)
def needs_the_sandbox():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("these tests run the sandbox as root (per-job uids) and need util-linux unshare")


def test_a_re_run_reports_each_stage_and_each_scored_image(make_submission, dataset, limits, tmp_path):
    stages = []
    lr_dir, hr_dir = dataset
    evaluate_code_submission(make_submission(), lr_dir, hr_dir, KEYS[:2], KEYS[:3], limits, tmp_path / "work",
                             scale=4, on_stage=stages.append)
    assert stages == [
        "building and exporting the model (sandbox stage 1 of 2, at most 90 s)",
        "waiting for this device's timing slot (one measuring stage at a time)",
        "measuring: parameters, MACs, 2 images timed against the baseline (sandbox stage 2 of 2, at most 90 s)",
        "scoring image 1 of 3", "scoring image 2 of 3", "scoring image 3 of 3"]


def test_a_stage_stopped_at_its_wall_time_names_the_setting_for_the_organizer(make_submission, dataset, tmp_path):
    limits = SandboxLimits(memory_bytes=4 << 30, wall_seconds=1, cpu_seconds=90, processes=64, open_files=256,
                           file_size_bytes=16 << 20, disk_bytes=64 << 20, log_bytes=16 << 10, threads=1)
    lr_dir, hr_dir = dataset
    with pytest.raises(CodeRunError) as stopped:
        evaluate_code_submission(make_submission("import time\ntime.sleep(30)\n"), lr_dir, hr_dir, None, KEYS[:1],
                                 limits, tmp_path / "work", scale=4)
    assert stopped.value.hit_wall_limit
    assert "SRCHALLENGE_" not in str(stopped.value), "the team reads its own reason: no platform setting in it"
    reason = failure_reason(stopped.value, Settings(sandbox_wall_seconds=1))
    assert reason.startswith("CodeRunError: the model was stopped after the wall-time limit of 1 s while building")
    assert "(SRCHALLENGE_SANDBOX_WALL_SECONDS on the worker)" in reason
    assert "SRCHALLENGE_" not in failure_reason(CodeRunError("weights do not fit", ""), Settings())
