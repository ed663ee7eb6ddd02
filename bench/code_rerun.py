"""What one complete code re-run costs beyond the forward passes it times.

A re-run (``worker.code_eval.evaluate_code_submission``) builds, exports and checks the team's
model in one sandbox, then in a second one loads the program, checks it on the meta device, warms
up, and times three trials in which it and the MSRResNet baseline take turns image by image (the
outputs of the scored images are those of the first trial); the worker then scores the outputs
(PSNR). Measured here: the wall time of the whole call against the sum of every timed forward pass
it reports (both models, all trials). Goal: the job takes at most 1.5× its timed forward passes.

Workloads, on CPU: MSRResNet (scoring/msrresnet.py) and SwinIR-light, the window-attention model
of the compatibility suite (examples/architectures/swinir_light.py, read as the model.py a team
would zip), both with seeded weights, over ``--images`` LR images of two sizes (real validation sets
have several distinct sizes).

What bounds the ratio, by construction: the warm-ups (one untimed pass per input size and model),
the eager check at the export size (one eager and one program pass), and fixed costs that do not
grow with the images (two sandbox starts with a torch import each, measured here as a reference;
torch.export of the team's model; the checks on the meta device; the baseline's export). A second
row per model splits the wall time by stage. Small images make the fixed costs dominate; see
docs/benchmarks.md.
"""

import argparse
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

import scoring.msrresnet
from bench.data import REPO, key_of
from bench.report import Row, add_common_options, print_header, print_table, progress
from scoring.imresize import SCALE, make_lr
from scoring.naming import lr_name
from bench.stack import photo_like
from worker import code_eval
from worker.code_eval import evaluate_code_submission
from worker.sandbox.launcher import SandboxLimits, run_in_sandbox

GOAL = 1.5
SIZES = [(95, 127), (127, 95)]
"""LR height, width: odd and not multiples of the window (8), as DIV2K's 339×510 are not; a
window-attention model pads them, and torch's guards then fail at the 256×256 MACs size."""
SWINIR_SOURCE = REPO / "examples" / "architectures" / "swinir_light.py"


def write_dataset(root: Path, count: int, sizes: list[tuple[int, int]]) -> tuple[Path, Path, list[str]]:
    """``count`` photo-like HR images, alternating between the LR ``sizes`` (h, w), and their LR inputs."""
    lr_dir, hr_dir = root / "lr", root / "hr"
    lr_dir.mkdir()
    hr_dir.mkdir()
    keys = [key_of(i) for i in range(count)]
    for i, key in enumerate(keys):
        h, w = sizes[i % len(sizes)]
        hr = photo_like(np.random.default_rng([13, i]), SCALE * h, SCALE * w)
        np.save(hr_dir / f"{key}.npy", hr)
        Image.fromarray(make_lr(hr)).save(lr_dir / lr_name(key, SCALE))
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


@contextmanager
def stage_clock(seconds: list[float]):
    """Wall time of each sandbox stage of the re-runs inside (start, command, copy-out, teardown)."""
    def clocked(*args, **kwargs):
        started = time.perf_counter()
        try:
            return run_in_sandbox(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - started)
    code_eval.run_in_sandbox = clocked
    try:
        yield
    finally:
        code_eval.run_in_sandbox = run_in_sandbox


def sandbox_torch_start(root: Path, limits: SandboxLimits) -> float:
    """Reference: a sandbox that starts, imports torch and ends, as each stage does before its work."""
    (root / "in").mkdir(parents=True)
    started = time.perf_counter()
    run = run_in_sandbox([*code_eval.PYTHON, "-c", "import torch, numpy, safetensors.torch"], root / "in",
                         root / "job", limits, hidden=[], outputs=[])
    if run.status["exit_code"] != 0:
        raise RuntimeError(f"the reference sandbox failed: {run.log}")
    return time.perf_counter() - started


def breakdown(name: str, evaluation, wall: float, stages: list[float], start: float, shapes: int) -> Row:
    """Where the wall time went: per stage, less what the protocol itself runs untimed."""
    timed = timed_seconds(evaluation)
    passes = {m: sum(map(sum, m.image_seconds)) / (len(m.trials) * m.images)
              for m in (evaluation.runtime, evaluation.baseline_runtime)}
    submission_pass, baseline_pass = passes.values()
    warm_ups = shapes * (submission_pass + baseline_pass)
    check = 2 * submission_pass  # stage 1: the eager model and the program once each at the export size
    export_stage, measuring_stage = stages
    floor = timed + warm_ups + check + 2 * start
    return Row(
        f"{name}: where the rest went (a pass ≈ the mean timed pass; {shapes} input sizes)",
        f"export stage {export_stage:.1f} s (sandbox start and torch import ≈ {start:.1f} s, eager check at the "
        f"export size ≈ {check:.1f} s, torch.export and the rest {export_stage - start - check:.1f} s); "
        f"measuring stage {measuring_stage:.1f} s (start ≈ {start:.1f} s, timed {timed:.1f} s, warm-ups ≈ "
        f"{warm_ups:.1f} s, the rest {measuring_stage - start - timed - warm_ups:.1f} s: meta checks, the "
        f"baseline's export, first-pass costs); worker {wall - export_stage - measuring_stage:.1f} s",
        f"floor with export and the rest free: {floor / timed:.2f}× (timed, warm-ups, eager check, two starts)",
        "—", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--models", default="msrresnet,swinir_light")
    parser.add_argument("--size", default="", metavar="HxW",
                        help="LR height×width instead of 95×127 (the images alternate it and its transpose); "
                             "339x510 is a DIV2K validation image's LR")
    args = parser.parse_args()
    count, sizes = (2, [(24, 20), (20, 28)]) if args.quick else (args.images, SIZES)
    if args.size and not args.quick:
        h, w = map(int, args.size.lower().split("x"))
        sizes = [(h, w), (w, h)]
    print_header("Code re-run: wall time against its timed forward passes (CPU)", args)
    limits = SandboxLimits(memory_bytes=12 << 30, wall_seconds=1800, cpu_seconds=7200, disk_bytes=512 << 20,
                           threads=1)
    rows = []
    with tempfile.TemporaryDirectory(prefix="srchallenge-bench-") as tmp:
        root = Path(tmp)
        lr_dir, hr_dir, keys = write_dataset(root, count, sizes)
        progress("reference: a sandbox that imports torch")
        start = min(sandbox_torch_start(root / f"start-{i}", limits) for i in range(2))
        for name in args.models.split(","):
            code_dir = write_submission(root, name)
            progress(f"complete re-run of {name}")
            stages: list[float] = []
            with stage_clock(stages):
                started = time.perf_counter()
                evaluation = evaluate_code_submission(code_dir, lr_dir, hr_dir, None, keys, limits,
                                                      root / f"work-{name}", scale=SCALE)
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
            rows.append(breakdown(name, evaluation, wall, stages, start, len(set(sizes))))
    print_table(rows)


if __name__ == "__main__":
    main()
