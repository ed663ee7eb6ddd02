"""Runtime harness: its overhead over a bare timing loop, and how repeatable its ratio is.

The harness (``worker.code_eval.evaluate_code_submission``) builds a team's model in the sandbox,
exports it to a checked program, and times it in a second sandbox, interleaved image by image
with MSRResNet, three trials, best of three (worker/sandbox/measure_runner.py). Here the team's
submission *is* MSRResNet (scoring/msrresnet.py with seeded weights), so:

* overhead: the harness's best trial for the submission against a bare loop in this process:
  ``perf_counter`` around ``model(x)`` under ``inference_mode``, same model and weights, same LR
  images, same threads, fresh input per image, three trials, best of three. Measured before each
  harness run, and the median of the per-run ratios is reported. Goal ≤ 2 %.
* repeatability: the runtime / baseline ratio of the same submission over ``--runs`` re-runs;
  spread = max / min − 1. Goal ≤ 3 %.

CPU by default: LR images are small (48×32) so that a run takes seconds on a laptop-class CPU; the
interpreter's per-operator cost is then a larger share than on 2K images, so the overhead errs high.
With CUDA available the bare loop times with CUDA events and a synchronize, as the harness does.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

import scoring.msrresnet
from bench.data import key_of
from bench.report import Row, add_common_options, print_header, print_table, progress
from scoring.imresize import make_lr
from scoring.msrresnet import MSRResNet
from tests.e2e.stack import photo_like
from worker.code_eval import evaluate_code_submission
from worker.sandbox.launcher import SandboxLimits

OVERHEAD_GOAL = 0.02
SPREAD_GOAL = 0.03
TRIALS = 3


def write_dataset(root: Path, count: int, hr_size: tuple[int, int]) -> tuple[Path, Path, list[str]]:
    lr_dir, hr_dir = root / "lr", root / "hr"
    lr_dir.mkdir()
    hr_dir.mkdir()
    keys = [key_of(i) for i in range(count)]
    for i, key in enumerate(keys):
        hr = photo_like(np.random.default_rng([2019, i]), *hr_size)
        np.save(hr_dir / f"{key}.npy", hr)
        Image.fromarray(make_lr(hr)).save(lr_dir / f"{key}x4.png")
    return lr_dir, hr_dir, keys


def write_submission(root: Path) -> tuple[Path, MSRResNet]:
    """MSRResNet submitted as code, with seeded weights; returns the folder and the same model."""
    code_dir = root / "submission"
    code_dir.mkdir()
    source = Path(scoring.msrresnet.__file__).read_text()
    (code_dir / "model.py").write_text(source + "\n\ndef build_model():\n    return MSRResNet()\n")
    torch.manual_seed(1)
    model = MSRResNet().eval()
    save_file(model.state_dict(), code_dir / "model.safetensors")
    (code_dir / "submission.yaml").write_text("data_range: 1.0\n")
    return code_dir, model


def bare_best(model: torch.nn.Module, lr_dir: Path, keys: list[str], device: torch.device) -> float:
    """Best of three trials of the mean seconds per image, timed the plainest way."""
    model = model.to(device)
    images = [np.array(Image.open(lr_dir / f"{key}x4.png").convert("RGB")) for key in keys]
    trials = []
    with torch.inference_mode():
        model(torch.rand(1, 3, *images[0].shape[:2], device=device))  # warm-up
        for _ in range(TRIALS):
            seconds = []
            for lr in images:
                x = torch.from_numpy(lr).to(device).permute(2, 0, 1).unsqueeze(0).float() / 255
                if device.type == "cuda":
                    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    torch.cuda.synchronize(device)
                    start.record()
                    model(x)
                    end.record()
                    torch.cuda.synchronize(device)
                    seconds.append(start.elapsed_time(end) / 1000)
                else:
                    started = time.perf_counter()
                    model(x)
                    seconds.append(time.perf_counter() - started)
            trials.append(sum(seconds) / len(seconds))
    return min(trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--images", type=int, default=3)
    args = parser.parse_args()
    runs, count, hr_size = (1, 1, (32, 32)) if args.quick else (args.runs, args.images, (128, 192))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print_header(f"Runtime harness on {device.type.upper()}", args)
    limits = SandboxLimits(memory_bytes=8 << 30, wall_seconds=600, cpu_seconds=3600, disk_bytes=256 << 20)
    overheads, ratios, harness, bare = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="srchallenge-bench-") as tmp:
        root = Path(tmp)
        lr_dir, hr_dir, keys = write_dataset(root, count, hr_size)
        code_dir, model = write_submission(root)
        for run in range(runs):
            progress(f"run {run + 1} of {runs}: bare loop, then the harness")
            bare.append(bare_best(model, lr_dir, keys, device))
            evaluation = evaluate_code_submission(code_dir, lr_dir, hr_dir, None, keys, limits, root / f"work{run}")
            harness.append(evaluation.runtime.best)
            ratios.append(evaluation.runtime_ratio)
            overheads.append(harness[-1] / bare[-1] - 1)
    lr_text = f"{count} LR images {hr_size[1] // 4}×{hr_size[0] // 4}"
    overhead = statistics.median(overheads)
    spread = max(ratios) / min(ratios) - 1
    print_table([
        Row(f"harness overhead, MSRResNet, {lr_text}, median of {runs} runs",
            f"{overhead:+.1%} (harness {statistics.median(harness) * 1e3:.0f} ms/image)",
            f"bare loop {statistics.median(bare) * 1e3:.0f} ms/image; per run "
            + ", ".join(f"{o:+.1%}" for o in overheads), f"≤ {OVERHEAD_GOAL:.0%}", overhead <= OVERHEAD_GOAL),
        Row(f"runtime/baseline ratio over {runs} re-runs of the same submission",
            f"spread {spread:.1%}", "ratios " + ", ".join(f"{r:.3f}" for r in ratios), f"≤ {SPREAD_GOAL:.0%}",
            spread <= SPREAD_GOAL if runs > 1 else None),
    ])


if __name__ == "__main__":
    main()
