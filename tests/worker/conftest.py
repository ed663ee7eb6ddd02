"""Fixtures for code-submission tests: a tiny dataset, tight sandbox limits, submission folders."""

import importlib
import os
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from worker.code_eval import CodeEvaluation, CodeRunError, evaluate_code_submission
from worker.sandbox.launcher import SANDBOX_UIDS, SandboxLimits

KEYS = [f"{i:04d}" for i in range(8)]
REPO = Path(__file__).resolve().parents[2]

TINY_MODEL = """
import torch
from torch import nn


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 48, 3, padding=1)
        self.up = nn.PixelShuffle(4)

    def forward(self, x):
        return self.up(self.conv(x))


def build_model():
    return Tiny()
"""


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: runs a whole code submission (seconds each); still part of CI")


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> tuple[Path, Path]:
    """8 smooth 128×128 HR images (``<key>.npy``) and their 32×32 LR inputs (``<key>x4.png``)."""
    root = tmp_path_factory.mktemp("data")
    lr_dir, hr_dir = root / "lr", root / "hr"
    lr_dir.mkdir()
    hr_dir.mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:128, 0:128] / 128.0
    for key in KEYS:
        phase = rng.uniform(0, 6, size=3)
        hr = np.stack([np.sin(3 * xx + 2 * yy + p) for p in phase], axis=-1)
        hr = np.clip((hr + 1) * 127.5 + rng.normal(0, 4, hr.shape), 0, 255).astype(np.uint8)
        np.save(hr_dir / f"{key}.npy", hr)
        Image.fromarray(hr.reshape(32, 4, 32, 4, 3).mean(axis=(1, 3)).round().astype(np.uint8)).save(
            lr_dir / f"{key}x4.png")
    return lr_dir, hr_dir


@pytest.fixture
def limits() -> SandboxLimits:
    return SandboxLimits(memory_bytes=4 << 30, wall_seconds=90, cpu_seconds=90, processes=64, open_files=256,
                         file_size_bytes=16 << 20, disk_bytes=64 << 20, log_bytes=16 << 10, threads=1)


def sandbox_module(name: str):
    """A runner module, imported as the sandbox lays its files out (then forgotten again)."""
    folders = [str(REPO / "worker" / "sandbox"), str(REPO / "scoring")]
    flat = {path.stem for folder in folders for path in Path(folder).glob("*.py")}
    sys.path[:0] = folders
    try:
        yield importlib.import_module(name)
    finally:
        del sys.path[:len(folders)]
        for module in flat & set(sys.modules):
            del sys.modules[module]


@pytest.fixture
def measure_runner():
    yield from sandbox_module("measure_runner")


@pytest.fixture
def export_runner():
    yield from sandbox_module("export_runner")


@pytest.fixture
def make_submission(tmp_path):
    """``make_submission(model_py, files)`` → a submission folder; ``files``: name → str or bytes."""
    def make(model_py: str | None = TINY_MODEL, files: dict[str, str | bytes] | None = None) -> Path:
        code_dir = tmp_path / "submission"
        code_dir.mkdir()
        if model_py is not None:
            (code_dir / "model.py").write_text(textwrap.dedent(model_py))
        for name, content in (files or {}).items():
            path = code_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        return code_dir
    return make


def leftover_processes() -> list[str]:
    """Processes still running with a sandbox uid that this test started, or that escaped to init.

    Sandboxes of other test sessions on the same machine (also sandbox uids) are not counted.
    """
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            uid, parent = _uid_and_parent(int(proc.name))
            if uid not in SANDBOX_UIDS:
                continue
            while parent > 1 and _uid_and_parent(parent)[0] in SANDBOX_UIDS:
                parent = _uid_and_parent(parent)[1]
            if parent <= 1 or _is_descendant(parent, os.getpid()):
                found.append(f"{proc.name}: {(proc / 'cmdline').read_bytes()[:100]!r}")
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def _uid_and_parent(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["Uid"].split()[0]), int(fields["PPid"])


def _is_descendant(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        pid = _uid_and_parent(pid)[1]
    return False


@pytest.fixture(autouse=True)
def nothing_left_behind():
    yield
    assert leftover_processes() == []


def evaluate(code_dir: Path, dataset: tuple[Path, Path], limits: SandboxLimits, work_dir: Path,
             keys: list[str] = KEYS) -> CodeEvaluation:
    """Evaluate with every key timed and scored; skipped where the sandbox cannot run at all."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("these tests run the sandbox as root (per-job uids) and need util-linux unshare")
    lr_dir, hr_dir = dataset
    return evaluate_code_submission(code_dir, lr_dir, hr_dir, None, keys, limits, work_dir, scale=4)


def failure(code_dir: Path, dataset: tuple[Path, Path], limits: SandboxLimits, work_dir: Path,
            keys: list[str] = KEYS) -> CodeRunError:
    with pytest.raises(CodeRunError) as info:
        evaluate(code_dir, dataset, limits, work_dir, keys)
    return info.value
