"""Runtime harness: its overhead over a bare timing loop, and how repeatable its ratio is.

The harness (``worker.code_eval.evaluate_code_submission``) builds a team's model in the sandbox,
exports it to a checked program, and times it in a second sandbox (worker/sandbox/measure_runner.py):
the program runs node by node in ``program.Program``, each image's clock is ``Runner.run``'s, and
the submission takes turns with MSRResNet image by image, three trials, best of three.

* overhead: ``Runner.run`` on MSRResNet exported by the harness (``load_baseline``) against a bare
  loop over the same eager model and weights (``perf_counter`` around ``model(x)`` under
  ``inference_mode``, fresh input per image), image by image in turns in this process, so that a
  noisy neighbour hits both alike; three trials, best of three each. The sandbox itself adds nothing
  per image (namespaces and limits cost at start only), so this is the harness's whole per-image
  overhead. Goal ≤ 2 %.
* repeatability: the runtime / baseline ratio of one MSRResNet code submission (scoring/msrresnet.py
  with seeded weights) over ``--runs`` complete re-runs through ``evaluate_code_submission``, sandbox
  and all; spread = max / min − 1. Goal ≤ 3 %. The ratio is the harness's paired one
  (``scoring.timing.runtime_ratio``); the reference in the same runs is the best trial over the best
  trial, the report's figures divided as they are.

CPU by default: ten LR images, small (48×32) so that a run takes seconds on a laptop-class CPU; the
interpreter's per-operator cost is then a larger share than on 2K images, so the overhead errs high.
Both sides use ``--threads`` torch threads (default 1: with one thread per core, any other process
on the machine stalls torch's worker threads at every operator, and the figures measure the
neighbours). With CUDA available the bare loop times with CUDA events and a synchronize, as the
harness does; the GPU figures need a machine with a GPU.
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

import scoring.msrresnet
from bench.data import REPO, key_of
from bench.report import Row, add_common_options, print_header, print_table, progress
from bench.stack import photo_like
from scoring.imresize import SCALE, make_lr
from scoring.msrresnet import MSRResNet
from scoring.naming import lr_name
from scoring.timing import TRIALS
from worker.code_eval import evaluate_code_submission
from worker.sandbox.launcher import SandboxLimits

OVERHEAD_GOAL = 0.02
SPREAD_GOAL = 0.03


def write_dataset(root: Path, count: int, hr_size: tuple[int, int]) -> tuple[Path, Path, list[str]]:
    lr_dir, hr_dir = root / "lr", root / "hr"
    lr_dir.mkdir()
    hr_dir.mkdir()
    keys = [key_of(i) for i in range(count)]
    for i, key in enumerate(keys):
        hr = photo_like(np.random.default_rng([2019, i]), *hr_size)
        np.save(hr_dir / f"{key}.npy", hr)
        Image.fromarray(make_lr(hr)).save(lr_dir / lr_name(key, SCALE))
    return lr_dir, hr_dir, keys


def write_submission(root: Path) -> Path:
    """MSRResNet submitted as code, with seeded weights."""
    code_dir = root / "submission"
    code_dir.mkdir()
    source = Path(scoring.msrresnet.__file__).read_text()
    (code_dir / "model.py").write_text(source + "\n\ndef build_model():\n    return MSRResNet()\n")
    torch.manual_seed(1)
    save_file(MSRResNet().state_dict(), code_dir / "model.safetensors")
    (code_dir / "submission.yaml").write_text("data_range: 1.0\n")
    return code_dir


def measure_runner():
    """The harness's measuring module, imported the way the sandbox lays the files out:
    measure_runner.py next to program.py, msrresnet.py and params.py."""
    for folder in (REPO / "worker" / "sandbox", REPO / "scoring"):
        if str(folder) not in sys.path:
            sys.path.append(str(folder))
    import measure_runner

    return measure_runner


def bare_seconds(model: torch.nn.Module, lr: np.ndarray, device: torch.device) -> float:
    """The eager model on a fresh input, timed by the harness's own clock."""
    runner = measure_runner()
    return runner.timed_forward(model, runner.input_tensor(lr, device, 1.0), device)[1]


def overhead_trials(lr_dir: Path, keys: list[str], device: torch.device) -> tuple[list[float], list[float]]:
    """(bare, harness) trials of mean seconds per image, image by image in turns."""
    images = [np.array(Image.open(lr_dir / lr_name(key, SCALE)).convert("RGB")) for key in keys]
    measuring = measure_runner()
    msrresnet_x4 = {"baseline": {"name": "MSRResNet", "scale": 4}}
    runner, _ = measuring.load_baseline(msrresnet_x4, device, images[0].shape[:2])  # the harness's own MSRResNet runner
    torch.manual_seed(0)  # load_baseline's seed: the same weights
    model = MSRResNet().eval().to(device)
    bare, harness = [], []
    with torch.inference_mode():
        bare_seconds(model, images[0], device)
        runner.run(images[0], device, keys[0])
        for _ in range(TRIALS):
            seconds = {"bare": [], "harness": []}
            with measuring.collector_paused():  # as in the harness's trials, for both sides
                for i, (key, lr) in enumerate(zip(keys, images)):
                    for side in ("bare", "harness") if i % 2 == 0 else ("harness", "bare"):
                        seconds[side].append(bare_seconds(model, lr, device) if side == "bare"
                                             else runner.run(lr, device, key)[1])
            bare.append(statistics.mean(seconds["bare"]))
            harness.append(statistics.mean(seconds["harness"]))
    return bare, harness


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads, both sides (0: one per core)")
    args = parser.parse_args()
    runs, count, hr_size = (1, 1, (32, 32)) if args.quick else (args.runs, args.images, (128, 192))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print_header(f"Runtime harness on {device.type.upper()}", args)
    threads = args.threads or None
    if threads:
        torch.set_num_threads(threads)
    limits = SandboxLimits(memory_bytes=8 << 30, wall_seconds=600, cpu_seconds=3600, disk_bytes=256 << 20,
                           threads=threads)
    with tempfile.TemporaryDirectory(prefix="srchallenge-bench-") as tmp:
        root = Path(tmp)
        lr_dir, hr_dir, keys = write_dataset(root, count, hr_size)
        code_dir = write_submission(root)
        overheads = []
        for round_ in range(runs):
            progress(f"overhead, round {round_ + 1} of {runs}")
            bare, harness = overhead_trials(lr_dir, keys, device)
            overheads.append(min(harness) / min(bare) - 1)
        ratios, best_ratios, measured = [], [], []
        for run in range(runs):
            progress(f"complete re-run {run + 1} of {runs}")
            evaluation = evaluate_code_submission(code_dir, lr_dir, hr_dir, None, keys, limits, root / f"work{run}",
                                                  scale=SCALE)
            ratios.append(evaluation.runtime_ratio)
            best_ratios.append(evaluation.runtime.best / evaluation.baseline_runtime.best)
            measured.append(evaluation.runtime.best)
    lr_text = f"{count} LR images {hr_size[1] // 4}×{hr_size[0] // 4}, {torch.get_num_threads()} thread(s)"
    overhead = statistics.median(overheads)
    spread = max(ratios) / min(ratios) - 1
    best_spread = max(best_ratios) / min(best_ratios) - 1
    print_table([
        Row(f"harness overhead per image, MSRResNet, {lr_text}, median of {runs} rounds",
            f"{overhead:+.1%}", "bare loop, in turns; rounds " + ", ".join(f"{o:+.1%}" for o in overheads),
            f"≤ {OVERHEAD_GOAL:.0%}", overhead <= OVERHEAD_GOAL),
        Row(f"runtime/baseline ratio over {runs} complete re-runs of one submission ({device.type})",
            f"spread {spread:.1%} (ratios " + ", ".join(f"{r:.3f}" for r in ratios) + ")",
            f"best trial / best trial: spread {best_spread:.1%} (" + ", ".join(f"{r:.3f}" for r in best_ratios)
            + f"); runtimes {min(measured) * 1e3:.0f}–{max(measured) * 1e3:.0f} ms/image",
            f"≤ {SPREAD_GOAL:.0%}", spread <= SPREAD_GOAL if runs > 1 else None),
    ])


if __name__ == "__main__":
    main()
