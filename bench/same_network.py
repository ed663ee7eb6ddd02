"""The baseline's own network submitted as code: its runtime ratio to the baseline must be 1.00.

A code re-run times the submission and the MSRResNet baseline in the same job, image by image in
turns (scoring/timing.py); the ratio is what the tracks' runtime bound reads (tolerance 1.1 in the
AIM 2019 bundle). Submitting exactly the baseline's network must measure 1.00 ± 0.03 in every
run, else the ratio compares harnesses, not networks. Two ways of writing that network:

- ``baseline source``: scoring/msrresnet.py as it is (in-place LeakyReLU modules);
- ``out of place``: the same layers and weights written from the report's description, as a team
  writes it (functional ``F.leaky_relu``, the residual sums the other way round).

Each is submitted ``--runs`` times through the whole re-run (both sandboxes, the real protocol); the
table gives the median ratio and the spread (largest less smallest, over the median). On a GPU
(``--gpu``, the worker's assigned one) the same protocol runs there.

    python -m bench.same_network [--runs 5] [--images 6] [--size 95x127] [--gpu] [--quick]
"""

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file

import scoring.msrresnet
from bench.code_rerun import write_dataset
from bench.report import Row, add_common_options, print_header, print_table, progress
from scoring.imresize import SCALE
from server.config import get_settings
from worker.code_eval import evaluate_code_submission
from worker.sandbox.gpu import assigned_gpu, driver_gpus
from worker.sandbox.launcher import SandboxLimits

CENTRE, SPREAD = 0.03, 0.03
"""Goal: the median within 1 ± CENTRE, and (max − min) / median at most SPREAD."""

OUT_OF_PLACE = '''
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(64, 64, 3, 1, 1)
        self.conv2 = nn.Conv2d(64, 64, 3, 1, 1)


class MSRResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_first = nn.Conv2d(3, 64, 3, 1, 1)
        self.body = nn.Sequential(*(Block() for _ in range(16)))
        self.upconv1 = nn.Conv2d(64, 256, 3, 1, 1)
        self.upconv2 = nn.Conv2d(64, 256, 3, 1, 1)
        self.HRconv = nn.Conv2d(64, 64, 3, 1, 1)
        self.conv_last = nn.Conv2d(64, 3, 3, 1, 1)

    def forward(self, x):
        out = F.leaky_relu(self.conv_first(x), 0.1)
        for block in self.body:
            out = block.conv2(F.leaky_relu(block.conv1(out), 0.1)) + out
        out = F.leaky_relu(F.pixel_shuffle(self.upconv1(out), 2), 0.1)
        out = F.leaky_relu(F.pixel_shuffle(self.upconv2(out), 2), 0.1)
        out = self.conv_last(F.leaky_relu(self.HRconv(out), 0.1))
        return F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False) + out


def build_model():
    return MSRResNet()
'''
VARIANTS = {
    "baseline source": Path(scoring.msrresnet.__file__).read_text() + "\n\ndef build_model():\n    return MSRResNet()\n",
    "out of place": OUT_OF_PLACE,
}


def write_submission(root: Path, name: str, source: str) -> Path:
    """The variant's model.py and the baseline's seeded weights (the same for both variants)."""
    code_dir = root / name.replace(" ", "-")
    code_dir.mkdir()
    (code_dir / "model.py").write_text(source)
    torch.manual_seed(1)
    weights = scoring.msrresnet.MSRResNet().state_dict()
    save_file({k: v.contiguous() for k, v in weights.items()}, code_dir / "model.safetensors")
    return code_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--size", default="95x127", metavar="HxW", help="LR size (the images alternate it and "
                        "its transpose); 339x510 is a DIV2K validation image's")
    parser.add_argument("--gpu", action="store_true", help="time on the worker's assigned GPU")
    args = parser.parse_args()
    h, w = map(int, args.size.lower().split("x"))
    runs, count, sizes = (1, 2, [(24, 20), (20, 24)]) if args.quick else (args.runs, args.images, [(h, w), (w, h)])
    gpu = assigned_gpu(os.environ.get("CUDA_VISIBLE_DEVICES"), driver_gpus()) if args.gpu else None
    print_header(f"The baseline's own network as code: runtime ratio to the baseline ({'GPU' if gpu else 'CPU'})",
                 args)
    limits = SandboxLimits.from_settings(get_settings(), gpu=gpu is not None)
    rows = []
    with tempfile.TemporaryDirectory(prefix="srchallenge-bench-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o700)
        lr_dir, hr_dir, keys = write_dataset(root, count, sizes)
        code_dirs = {name: write_submission(root, name, source) for name, source in VARIANTS.items()}
        ratios: dict[str, list[float]] = {name: [] for name in VARIANTS}
        device = ""
        for run in range(runs):
            for name, code_dir in code_dirs.items():  # in turns, so a slow spell hits both variants
                progress(f"run {run + 1}/{runs}: {name}")
                evaluation = evaluate_code_submission(code_dir, lr_dir, hr_dir, None, keys, limits,
                                                      root / f"work-{run}-{code_dir.name}", scale=SCALE, gpu=gpu)
                ratios[name].append(evaluation.runtime_ratio)
                device = evaluation.environment["device"]
        size_text = " and ".join(f"{sw}×{sh}" for sh, sw in sizes)
        for name, values in ratios.items():
            median = statistics.median(values)
            spread = (max(values) - min(values)) / median
            rows.append(Row(
                f"{name}: runtime ratio to the baseline ({runs} re-runs, {count} LR images {size_text}, {device})",
                f"median {median:.3f}, spread {spread:.1%}",
                "the baseline, timed in the same job: " + ", ".join(f"{v:.3f}" for v in values),
                f"1 ± {CENTRE}, spread ≤ {SPREAD:.0%}",
                abs(median - 1) <= CENTRE and spread <= SPREAD))
    print_table(rows)


if __name__ == "__main__":
    main()
