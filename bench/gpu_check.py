"""GPU readiness check: one command, a few minutes on one GPU, through the real sandbox.

    python -m bench.gpu_check [--images 10] [--shape 339 510]

Run it as the worker runs (root, the worker's CUDA_VISIBLE_DEVICES) on each new GPU worker before
it takes submissions. It verifies, each against its goal:

1. CUDA is used, on exactly the assigned GPU: the measuring stage's sandbox sees one GPU, whose
   UUID is the one the worker's assignment names (worker/sandbox/gpu.py).
2. The harness (exported MSRResNet interpreted by program.Program, timed by Runner.run) is within
   2 % of the eager model at a DIV2K LR size (339×510), with no host-device synchronization inside
   the forward; and timed trial 1 is within 2 % of trials 2–3 (the warm-up covers every shape).
3. TF32 is really off: a convolution and a matmul against float64 references (TF32 errs ~1e-3);
   and MSRResNet submitted as code and timed against the built-in MSRResNet gives a runtime ratio
   of 1.00 ± 3 % (the whole code re-run: both sandbox stages, the paired ratio).

Without CUDA it exits with status 2 and says so. ``--cpu`` runs the same checks on the CPU, for
developing this script only: its figures say nothing about a GPU.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.report import Row, print_table

OVERHEAD_GOAL = 0.02
TRIAL_GOAL = 0.02
RATIO_GOAL = 0.03
TF32_FREE_ERROR = 1e-4
"""fp32 against float64 on these sizes errs about 1e-6; TF32's 10-bit mantissa about 1e-3."""
SANDBOX = Path(__file__).resolve().parent.parent / "worker" / "sandbox"
PROBE = Path(__file__).with_name("gpu_probe.py")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=10, help="LR images per trial (default 10)")
    parser.add_argument("--shape", type=int, nargs=2, default=[339, 510], metavar=("H", "W"),
                        help="LR image size (default 339 510, a DIV2K validation LR image)")
    parser.add_argument("--cpu", action="store_true", help="run the checks on the CPU (developing this script only)")
    return parser.parse_args(argv)


def no_cuda_message() -> str | None:
    import torch

    if torch.cuda.is_available():
        return None
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
    return (f"bench.gpu_check needs a CUDA GPU and this machine has none usable (torch {torch.__version__}, "
            f"{build}). Run it on a GPU worker, as the worker runs.")


def probe_in_sandbox(gpu, args: argparse.Namespace, work: Path, limits) -> dict:
    """Checks 1, 2 and TF32, run by gpu_probe.py in the measuring stage's sandbox."""
    from worker.code_eval import STAGE2_FILES
    from worker.sandbox.launcher import run_in_sandbox

    inputs = work / "probe-in"
    inputs.mkdir(parents=True)
    for path in [*STAGE2_FILES, PROBE]:
        shutil.copyfile(path, inputs / path.name)
    job = {"device": "cuda" if gpu else "cpu", "gpu_uuid": gpu.uuid if gpu else None,
           "gpu_memory_fraction": limits.gpu_memory_fraction, "shape": args.shape, "images": args.images}
    (inputs / "job.json").write_text(json.dumps(job))
    for path in inputs.iterdir():
        path.chmod(0o644)
    inputs.chmod(0o755)
    run = run_in_sandbox(["python", "-E", "-s", "-B", "/sandbox/in/gpu_probe.py"], inputs, work / "probe", limits,
                         hidden=[], outputs=["result.json"], gpu=gpu)
    result = run.result_dir / "result.json"
    if not result.is_file():
        raise SystemExit(f"the probe failed in the sandbox:\n{run.log}")
    return json.loads(result.read_text())


def code_rerun(gpu, args: argparse.Namespace, work: Path, limits):
    """MSRResNet submitted as code, through evaluate_code_submission on ``--images`` images."""
    from bench.runtime_harness import write_dataset, write_submission
    from scoring.imresize import SCALE
    from worker.code_eval import evaluate_code_submission

    h, w = args.shape
    (work / "data").mkdir(parents=True)
    lr_dir, hr_dir, keys = write_dataset(work / "data", args.images, (SCALE * h, SCALE * w))
    return evaluate_code_submission(write_submission(work), lr_dir, hr_dir, None, keys, limits, work / "run",
                                    scale=SCALE, gpu=gpu)


def rows(gpu, probe: dict, evaluation) -> list[Row]:
    best = {name: min(trials) for name, trials in probe["overhead"]["trials"].items()}
    overhead = best["harness"] / best["eager"] - 1
    assigned = gpu.uuid if gpu else "cpu"
    seen = f"{probe['device_type']} ×{probe['device_count']} {probe.get('uuid', '')}".strip()
    recorded = evaluation.environment.get("gpu_uuid") or evaluation.environment["device_type"]
    figures = [
        Row("1. GPU seen by the measuring stage", seen, f"assigned: {assigned}", "the assigned GPU, alone",
            gpu is None or (probe["device_count"] == 1 and probe.get("uuid", "").lower() == gpu.uuid.lower())),
        Row("   GPU recorded by the code re-run", recorded, f"assigned: {assigned}", "the assigned GPU",
            gpu is None or recorded.lower() == gpu.uuid.lower()),
        Row("2. harness / eager model − 1", f"{overhead:+.2%} ({best['harness'] * 1e3:.2f} ms)",
            f"eager {best['eager'] * 1e3:.2f} ms", f"≤ {OVERHEAD_GOAL:.0%}", overhead <= OVERHEAD_GOAL),
        Row("   synchronization inside the forward",
            {True: "none", False: "found", None: "not checked (CPU)"}[probe["overhead"]["sync_free"]],
            "—", "none", probe["overhead"]["sync_free"] is not False),
    ]
    for name, measurement in (("submission", evaluation.runtime), ("baseline", evaluation.baseline_runtime)):
        first, rest = measurement.trials[0], sum(measurement.trials[1:]) / len(measurement.trials[1:])
        figures.append(Row(f"   {name}: trial 1 / trials 2–3 − 1", f"{first / rest - 1:+.2%}",
                           f"trials 2–3 {rest * 1e3:.2f} ms", f"within ±{TRIAL_GOAL:.0%}",
                           abs(first / rest - 1) <= TRIAL_GOAL))
    for name, error in probe["tf32_error"].items():
        figures.append(Row(f"3. {name}: fp32 against float64, relative error", f"{error:.1e}", "float64 on the CPU",
                           f"< {TF32_FREE_ERROR:g} (TF32: ~1e-3)", error < TF32_FREE_ERROR))
    flags = evaluation.environment.get("tf32", {"unrecorded": True})
    figures.append(Row("   TF32 flags recorded by the code re-run", json.dumps(flags), "—", "all false",
                       not any(flags.values())))
    ratio = evaluation.runtime_ratio
    figures.append(Row("   MSRResNet as code / built-in MSRResNet", f"{ratio:.3f}",
                       f"baseline {evaluation.baseline_runtime.best * 1e3:.2f} ms", f"1.00 ± {RATIO_GOAL:.0%}",
                       abs(ratio - 1) <= RATIO_GOAL))
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    message = None if args.cpu else no_cuda_message()
    if message:
        print(message, file=sys.stderr)
        return 2
    from server.config import get_settings
    from worker.sandbox.gpu import assigned_gpu, driver_gpus
    from worker.sandbox.launcher import SandboxLimits

    gpu = None if args.cpu else assigned_gpu(os.environ.get("CUDA_VISIBLE_DEVICES"), driver_gpus())
    limits = SandboxLimits.from_settings(get_settings(), gpu=gpu is not None)
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o700)
        probe = probe_in_sandbox(gpu, args, work, limits)
        evaluation = code_rerun(gpu, args, work / "rerun", limits)
    figures = rows(gpu, probe, evaluation)
    print(f"GPU check on {evaluation.environment['device']} ({np.prod(args.shape)} px LR, {args.images} images)")
    print_table(figures)
    return 0 if all(row.met is not False for row in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
