"""What one complete code re-run costs beyond the forward passes it times.

A re-run (``worker.code_eval.evaluate_code_submission``) builds and exports the team's model in one
sandbox, then in a second one loads the program, warms up, runs the submission once over the
scoring images for its outputs, and times three trials in which it and the MSRResNet baseline take
turns image by image; the worker then scores the outputs (PSNR). Measured here: the wall time of
the whole call against the sum of every timed forward pass it reports (both models, all trials).
Goal: the job takes at most 1.5× its timed forward passes.

Workloads, on CPU: MSRResNet (scoring/msrresnet.py) and SwinIR-light, the window-attention model
of the compatibility suite (examples/architectures/swinir_light.py, read as the model.py a team
would zip), both with seeded weights, over ``--images`` LR images of two sizes (real validation sets
have a few distinct sizes; each costs the exporter a program where shapes specialize).

What bounds the ratio, by construction: the untimed pass that writes the outputs (one submission
pass against six timed passes for a submission as fast as the baseline), the warm-ups, and fixed
costs that do not grow with the images (two sandbox starts with a torch import each, export per
size, the baseline's export). Small images make the fixed costs dominate; see docs/benchmarks.md.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

import scoring.msrresnet
from bench.data import REPO, key_of
from bench.report import Row, add_common_options, print_header, print_table, progress
from scoring.imresize import make_lr
from bench.stack import photo_like
from worker.code_eval import evaluate_code_submission
from worker.sandbox.launcher import SandboxLimits

GOAL = 1.5
SWINIR_SOURCE = REPO / "examples" / "architectures" / "swinir_light.py"


def write_dataset(root: Path, count: int, sizes: list[tuple[int, int]]) -> tuple[Path, Path, list[str]]:
    """``count`` photo-like HR images, alternating between the LR ``sizes`` (h, w), and their LR inputs."""
    lr_dir, hr_dir = root / "lr", root / "hr"
    lr_dir.mkdir()
    hr_dir.mkdir()
    keys = [key_of(i) for i in range(count)]
    for i, key in enumerate(keys):
        h, w = sizes[i % len(sizes)]
        hr = photo_like(np.random.default_rng([13, i]), 4 * h, 4 * w)
        np.save(hr_dir / f"{key}.npy", hr)
        Image.fromarray(make_lr(hr)).save(lr_dir / f"{key}x4.png")
    return lr_dir, hr_dir, keys


def write_submission(root: Path, name: str) -> Path:
    code_dir = root / name
    code_dir.mkdir()
    if name == "msrresnet":
        source = Path(scoring.msrresnet.__file__).read_text() + "\n\ndef build_model():\n    return MSRResNet()\n"
    else:
        source = SWINIR_SOURCE.read_text()
    (code_dir / "model.py").write_text(source)
    namespace: dict = {}
    exec(compile(source, str(code_dir / "model.py"), "exec"), namespace)  # our own fixture, to save its weights
    torch.manual_seed(1)
    model = namespace["build_model"]()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, code_dir / "model.safetensors")
    return code_dir


def timed_seconds(evaluation) -> float:
    """Every forward pass the re-run timed: both models, every trial, every image."""
    return sum(sum(sum(trial) for trial in m.image_seconds) for m in (evaluation.runtime, evaluation.baseline_runtime))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--models", default="msrresnet,swinir_light")
    args = parser.parse_args()
    count, sizes = (2, [(24, 20), (20, 28)]) if args.quick else (args.images, [(96, 128), (128, 96)])
    print_header("Code re-run: wall time against its timed forward passes (CPU)", args)
    limits = SandboxLimits(memory_bytes=12 << 30, wall_seconds=1800, cpu_seconds=7200, disk_bytes=512 << 20,
                           threads=1)
    rows = []
    with tempfile.TemporaryDirectory(prefix="srchallenge-bench-") as tmp:
        root = Path(tmp)
        lr_dir, hr_dir, keys = write_dataset(root, count, sizes)
        for name in args.models.split(","):
            code_dir = write_submission(root, name)
            progress(f"complete re-run of {name}")
            started = time.perf_counter()
            evaluation = evaluate_code_submission(code_dir, lr_dir, hr_dir, None, keys, limits, root / f"work-{name}")
            wall = time.perf_counter() - started
            timed = timed_seconds(evaluation)
            size_text = " and ".join(f"{w}×{h}" for h, w in sizes)
            rows.append(Row(
                f"{name}: wall time of one re-run / its timed forward passes ({count} LR images, {size_text}, "
                f"export {evaluation.export})",
                f"{wall / timed:.2f}× ({wall:.1f} s)",
                f"timed passes {timed:.1f} s (submission {evaluation.runtime.best * 1e3:.0f} ms/image, "
                f"baseline {evaluation.baseline_runtime.best * 1e3:.0f} ms/image, best trials)",
                f"≤ {GOAL}×", wall / timed <= GOAL))
    print_table(rows)


if __name__ == "__main__":
    main()
