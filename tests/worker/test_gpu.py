"""The GPU path, checked without a GPU (CI has none): which GPU a worker times on and what its
sandbox sees, the required device, the input layout, the warm-up, the environment record and a
CUDA out-of-memory outside the guarded section. bench/gpu_check.py checks the rest on a real GPU."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from server.config import Settings
from tests.worker.conftest import KEYS, TINY_MODEL
from worker.code_eval import evaluate_code_submission
from worker.evaluate import job_gpu
from worker.sandbox.gpu import GPU, assigned_gpu, driver_gpus
from worker.sandbox.launcher import SandboxLimits, SandboxUnavailable, run_in_sandbox

REPO = Path(__file__).resolve().parents[2]
needs_sandbox = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                                   reason="the sandbox runs as root (per-job uids) and needs util-linux")


@pytest.fixture
def driver_table(tmp_path) -> Path:
    """Two GPUs as the NVIDIA driver lists them; device minors deliberately not in bus order."""
    for bus, minor, uuid in [("0000:81:00.0", 0, "GPU-bbbb2222-0000"), ("0000:01:00.0", 1, "GPU-aaaa1111-0000")]:
        folder = tmp_path / "gpus" / bus
        folder.mkdir(parents=True)
        (folder / "information").write_text(f"Model: \t\t NVIDIA H200\nIRQ:   \t\t 42\nGPU UUID: \t\t {uuid}\n"
                                            f"Device Minor: \t {minor}\nBus Location: \t {bus}\n")
    return tmp_path / "gpus"


def test_the_workers_assignment_names_one_gpu_and_its_device_node(driver_table):
    gpus = driver_gpus(driver_table)
    assert [gpu.bus_id for gpu in gpus] == ["0000:01:00.0", "0000:81:00.0"]  # nvidia-smi's order
    assert assigned_gpu("1", gpus).uuid == "GPU-bbbb2222-0000"
    assert assigned_gpu("1", gpus).device_nodes() == ["/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia0"]
    assert assigned_gpu("GPU-aaaa", gpus).minor == 1
    assert assigned_gpu(None, gpus[:1]) == gpus[0]
    for unclear in (None, "", "2", "GPU-", "GPU-cccc"):
        with pytest.raises(SandboxUnavailable):
            assigned_gpu(unclear, gpus)
    with pytest.raises(SandboxUnavailable, match="sees no NVIDIA GPU"):
        assigned_gpu("0", [])


def test_a_worker_set_to_cuda_without_a_gpu_fails_as_the_platform():
    """No silent CPU run: SRCHALLENGE_SANDBOX_DEVICE=cuda needs the GPU (this machine has none)."""
    assert job_gpu(Settings(sandbox_device="cpu")) is None
    assert job_gpu(Settings(sandbox_device="auto")) is None
    with pytest.raises(SandboxUnavailable):
        job_gpu(Settings(sandbox_device="cuda"))


@needs_sandbox
def test_a_gpu_job_sees_only_its_gpu_by_uuid(tmp_path):
    (tmp_path / "in").mkdir()
    job = "import os\nprint(os.environ['CUDA_VISIBLE_DEVICES'], sorted(n for n in os.listdir('/dev') if 'nvidia' in n))"
    gpu = GPU("0000:01:00.0", 7, "GPU-aaaa1111-0000")  # no such device node here: nothing to bind
    run = run_in_sandbox(["python", "-c", job], tmp_path / "in", tmp_path / "job",
                         SandboxLimits(wall_seconds=60, threads=1), hidden=[], outputs=[], gpu=gpu)
    assert run.log.strip() == "GPU-aaaa1111-0000 []"


@needs_sandbox
@pytest.mark.slow
def test_a_gpu_job_that_finds_no_gpu_is_the_platforms_failure_not_a_cpu_run(make_submission, dataset, limits,
                                                                             tmp_path):
    lr_dir, hr_dir = dataset
    with pytest.raises(SandboxUnavailable, match="CUDA is not available"):
        evaluate_code_submission(make_submission(TINY_MODEL), lr_dir, hr_dir, None, KEYS[:2], limits,
                                 tmp_path / "work", scale=4, gpu=GPU("0000:01:00.0", 0, "GPU-aaaa1111-0000"))


def test_the_input_is_contiguous_nchw(measure_runner):
    x = measure_runner.input_tensor(np.zeros((5, 7, 3), np.uint8), torch.device("cpu"), 1.0)
    assert x.shape == (1, 3, 5, 7) and x.dtype == torch.float32
    assert x.is_contiguous() and not x.is_contiguous(memory_format=torch.channels_last)


class RecordingRunner:
    def __init__(self) -> None:
        self.shapes = []

    def run(self, lr, device, key):
        self.shapes.append(lr.shape[:2])


@pytest.mark.parametrize("device_type", ["cpu", "cuda"])
def test_the_warm_up_meets_every_runtime_shape(device_type, measure_runner):
    lr = {"a": np.zeros((4, 6, 3)), "b": np.zeros((6, 4, 3)), "c": np.zeros((4, 6, 3)), "d": np.zeros((5, 5, 3))}
    runner = RecordingRunner()
    measure_runner.warm_up(runner, lr, ["a", "b", "c", "d"], torch.device(device_type))
    expected = [(4, 6), (6, 4), (5, 5)]
    assert runner.shapes == ([(4, 6), (4, 6)] if device_type == "cuda" else []) + expected


def test_the_environment_records_the_real_tf32_flags(measure_runner, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", True)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    env = measure_runner.environment(torch.device("cpu"), {"device": "cpu"})
    assert env["tf32"] == {"cudnn": True, "matmul": False} and env["input_layout"] == "NCHW contiguous"
    measure_runner.fair_backends()
    assert measure_runner.environment(torch.device("cpu"), {"device": "cpu"})["tf32"] == {"cudnn": False,
                                                                                          "matmul": False}


def test_a_cuda_out_of_memory_outside_the_guard_leaves_a_reason(measure_runner, monkeypatch, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "in" / "job.json").write_text(json.dumps({"device": "cuda", "gpu_memory_fraction": 0.5,
                                                          "memory_gib": 4}))
    monkeypatch.setattr(measure_runner, "IN", tmp_path / "in")
    monkeypatch.setattr(measure_runner, "OUT", tmp_path / "out")

    def out_of_memory(job):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(measure_runner, "measure", out_of_memory)
    measure_runner.main()
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert "ran out of GPU memory" in result["error"] and "50%" in result["error"]


def test_gpu_check_without_cuda_exits_with_a_clear_message():
    done = subprocess.run([sys.executable, "-m", "bench.gpu_check"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "needs a CUDA GPU" in done.stderr and "Traceback" not in done.stderr


def test_the_baseline_records_the_device_class_the_sandbox_setting_chooses():
    """It asked torch.cuda.is_available(): a worker set to cpu on a GPU host recorded "gpu", and one
    set to cuda whose torch sees no GPU recorded "cpu"."""
    from worker.baseline import worker_device_class

    assert worker_device_class(Settings(sandbox_device="cuda")) == "gpu"
    assert worker_device_class(Settings(sandbox_device="cpu")) == "cpu"
    assert worker_device_class(Settings(sandbox_device="auto")) == ("gpu" if driver_gpus() else "cpu")
