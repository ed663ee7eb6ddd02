"""Every image, timed or scored, is run by one program that gives the team's eager outputs (issues 12.1, 13.3).

Whole submissions through both sandbox stages, on LR images of two sizes (16×16 and 9×10, an
even and an odd width) as a test phase has them: timed on one set, scored on another.
"""

import os
import shutil
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from scoring.psnr import mean_psnr, psnr
from tests.worker.conftest import KEYS, TINY_MODEL
from worker.code_eval import CodeEvaluation, CodeRunError, evaluate_code_submission

pytestmark = pytest.mark.slow
TIMED, SCORED = ["0100", "0101"], ["0200", "0201"]  # 16×16 and 9×10 (width × height) inputs


@pytest.fixture(scope="module")
def two_sizes(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("two_sizes")
    lr_dir, hr_dir = root / "lr", root / "hr"
    lr_dir.mkdir()
    hr_dir.mkdir()
    rng = np.random.default_rng(1)
    for keys, (h, w) in [(TIMED, (16, 16)), (SCORED, (10, 9))]:
        yy, xx = np.mgrid[0:4 * h, 0:4 * w] / 64.0
        for key in keys:
            hr = np.stack([np.sin(3 * xx + 2 * yy + p) for p in rng.uniform(0, 6, 3)], axis=-1)
            hr = ((hr + 1) * 127.5).round().astype(np.uint8)
            np.save(hr_dir / f"{key}.npy", hr)
            lr = hr.reshape(h, 4, w, 4, 3).mean(axis=(1, 3)).round().astype(np.uint8)
            Image.fromarray(lr).save(lr_dir / f"{key}x4.png")
    return lr_dir, hr_dir


def run(code_dir: Path, data: tuple[Path, Path], limits, work_dir: Path, runtime_keys=TIMED,
        scoring_keys=SCORED) -> CodeEvaluation:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("these tests run the sandbox as root (per-job uids) and need util-linux unshare")
    return evaluate_code_submission(code_dir, *data, runtime_keys, scoring_keys, limits, work_dir, scale=4)


def refused(code_dir: Path, data: tuple[Path, Path], limits, work_dir: Path) -> str:
    with pytest.raises(CodeRunError) as info:
        run(code_dir, data, limits, work_dir)
    return str(info.value)


CHEAP_AT_THE_TIMED_SIZE = TINY_MODEL.replace("        return self.up(self.conv(x))", """
        if x.shape[-1] == 16:  # the timed images' width: bicubic, nearly free
            return torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic")
        return self.up(self.conv(x))""")


def test_a_model_that_is_cheap_at_the_timed_size_is_refused(make_submission, two_sizes, limits, tmp_path):
    """12.1: per-size export gave the timed size a bicubic program and the scored size the network
    (ratio 0.0073 instead of 1.21). Now the one program must give the model's outputs everywhere."""
    reason = refused(make_submission(CHEAP_AT_THE_TIMED_SIZE), two_sizes, limits, tmp_path / "work")
    assert "must be run by one program" in reason
    assert "exported at 16×16, the program differs from the model at 9×10" in reason
    assert "exported at 9×10, the program differs from the model at 16×16" in reason


REWRITE_RESULT_PER_SIZE = """
import atexit, json, os, shutil


def per_size():
    shutil.copy("/sandbox/out/program-any.json", "/sandbox/out/program-cheap.json")
    with open("/sandbox/out/result.json", "w") as f:
        json.dump({"programs": {"32x32": "program-cheap.json", "256x256": "program-any.json"}}, f)


def at_exit(hook):  # however the runner leaves: the interpreter's exit, or os._exit after its result
    atexit.register(hook)
    leave = os._exit
    os._exit = lambda code: (hook(), leave(code))


at_exit(per_size)
"""


def test_a_stage_1_result_that_maps_sizes_to_programs_is_refused(make_submission, dataset, limits, tmp_path):
    """12.1: stage 1 is the team's process and may rewrite its result (a hook at exit) to pick a
    program per image size; the worker reads one program name and nothing else."""
    code = make_submission(REWRITE_RESULT_PER_SIZE + TINY_MODEL)
    with pytest.raises(CodeRunError, match="did not name one program for every image size"):
        run(code, dataset, limits, tmp_path / "work", runtime_keys=None, scoring_keys=KEYS[:2])


ROLLS_ON_ODD_WIDTHS = TINY_MODEL.replace("        return self.up(self.conv(x))", """
        shift = x.shape[2] // 2 if x.shape[3] % 2 else 0  # a branch on the width's parity
        return self.up(self.conv(torch.roll(x, shift, 2)))""")


def test_a_model_whose_output_depends_on_the_width_parity_is_not_scored_with_the_wrong_program(
        make_submission, two_sizes, limits, tmp_path):
    """13.3: the program exported at an even width was run on odd widths, where torch's recorded
    assumption (width even) does not hold, and scored 30.21 dB where the model gives 15.87 dB."""
    reason = refused(make_submission(ROLLS_ON_ODD_WIDTHS), two_sizes, limits, tmp_path / "work")
    assert "exported at 16×16, the program differs from the model at 9×10" in reason
    assert "torch.export assumed" in reason and "% 2 == 0" in reason


SPECIAL_PATH_AT_ITS_IMAGE_SIZE = """
import torch
from torch import nn
import torch.nn.functional as F


def ramp(h, w):
    return (torch.arange(h)[:, None] * 0.01 + torch.arange(w)[None, :] * 0.02)[None, None]


class WindowPadded(nn.Module):
    \"\"\"As SwinIR-light: pads to a window multiple and keeps a buffer precomputed for its
    training size (16×16), computed afresh at any other size.\"\"\"

    def __init__(self, window=4, img_size=16):
        super().__init__()
        self.window, self.img_size = window, img_size
        self.conv = nn.Conv2d(3, 48, 3, padding=1)
        self.up = nn.PixelShuffle(4)
        self.register_buffer("position", ramp(img_size, img_size))

    def forward(self, x):
        h, w = x.shape[2:]
        x = F.pad(x, (0, (self.window - w % self.window) % self.window,
                      0, (self.window - h % self.window) % self.window), mode="reflect")
        size = (x.shape[2], x.shape[3])
        position = self.position if size == (self.img_size, self.img_size) else ramp(*size)
        return self.up(self.conv(x + position))[:, :, :4 * h, :4 * w]


def build_model():
    torch.manual_seed(0)
    return WindowPadded()
"""


def test_a_model_with_a_special_path_at_one_size_is_scored_as_its_eager_run(make_submission, two_sizes,
                                                                             limits, tmp_path):
    """13.3: exported at its special size the program fails elsewhere (SwinIR-light on 63×50); the
    export stage tries again at the failing size and gets one program equal to eager everywhere."""
    evaluation = run(make_submission(SPECIAL_PATH_AT_ITS_IMAGE_SIZE), two_sizes, limits, tmp_path / "work")
    assert "which does not hold at 16×16; the program still gives the model's outputs" in evaluation.log
    module = types.ModuleType("window_padded")
    exec(textwrap.dedent(SPECIAL_PATH_AT_ITS_IMAGE_SIZE), module.__dict__)  # noqa: S102 - the test's own source
    model = module.build_model().eval()
    lr_dir, hr_dir = two_sizes
    eager = []
    with torch.inference_mode():
        for key in SCORED:
            lr = torch.from_numpy(np.array(Image.open(lr_dir / f"{key}x4.png"))).permute(2, 0, 1)[None] / 255
            sr = (model(lr).clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
            eager.append(psnr(sr, np.load(hr_dir / f"{key}.npy")))
    assert evaluation.psnr == pytest.approx(mean_psnr(eager), abs=1e-3)
    assert len(evaluation.runtime.image_seconds[0]) == len(TIMED)


CHEAP_AT_THE_COUNTED_SIZE = TINY_MODEL.replace("        return self.up(self.conv(x))", """
        h, w = x.shape[-2:]
        eh = h - 255 * (256 // h) * (h // 256)  # 1 at 256, h on every image: no branch, one program
        ew = w - 255 * (256 // w) * (w // 256)
        y = self.up(self.conv(x[:, :, :eh, :ew]))
        return torch.nn.functional.interpolate(y, size=(4 * h, 4 * w))""")


def test_a_model_that_does_less_work_where_macs_are_counted_is_refused(make_submission, two_sizes, limits,
                                                                        tmp_path):
    """Found in review: a program that works on a 1×1 crop at 1×3×256×256 only (where no image is
    scored) ran and upscaled there, so the meta-device check passed, and the board showed ~65,000×
    fewer MACs than the model spends on an image."""
    reason = refused(make_submission(CHEAP_AT_THE_COUNTED_SIZE), two_sizes, limits, tmp_path / "work")
    assert "less work per pixel at 1×3×256×256, where MACs are counted" in reason, reason


CHEAP_AT_THE_TIMED_WIDTH = TINY_MODEL.replace("        return self.up(self.conv(x))", """
        h, w = x.shape[-2:]
        ew = w - (w - 1) * (16 // w) * (w // 16)  # 1 at the timed images' width 16, w elsewhere: no branch
        y = self.up(self.conv(x[:, :, :, :ew]))
        return torch.nn.functional.interpolate(y, size=(4 * h, 4 * w))""")


def test_a_model_that_does_less_work_at_the_timed_size_is_refused(make_submission, two_sizes, limits, tmp_path):
    """Issue 19.2: shape arithmetic crops the network's input to one column at the timed width only;
    no guard fails, so it is one program, timed at a fraction of its work on the scored images."""
    reason = refused(make_submission(CHEAP_AT_THE_TIMED_WIDTH), two_sizes, limits, tmp_path / "work")
    assert "less work per pixel on the timed images (16×16) than on the images it is scored on (9×10)" in reason


UNCOUNTED_WORK_SKIPPED_AT_THE_TIMED_WIDTH = TINY_MODEL.replace("        return self.up(self.conv(x))", """
        w = x.shape[-1]
        ew = w - (w - 1) * (16 // w) * (w // 16)  # 1 at the timed width, w elsewhere
        z = x[:, :, :, :ew].repeat(1, 16, 48, 48)  # work no multiply-accumulate counts: elementwise only
        for _ in range(6):
            z = torch.sin(z) * 1.5
        return self.up(self.conv(x)) + z.mean() * 0""")


def test_a_model_that_skips_uncounted_work_at_the_timed_size_is_refused(make_submission, two_sizes, limits,
                                                                         tmp_path):
    """Issue 19.2: the MACs per pixel agree (the skipped work is elementwise), but the time per pixel
    does not: the scored images' passes are timed too, and compared with the timed images'."""
    reason = refused(make_submission(UNCOUNTED_WORK_SKIPPED_AT_THE_TIMED_WIDTH), two_sizes, limits,
                     tmp_path / "work")
    assert "less time per pixel on the timed images (16×16) than on the images it is scored on (9×10)" in reason
