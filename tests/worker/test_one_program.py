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
from worker.code_eval import BUILD_SEED, CodeEvaluation, CodeRunError, evaluate_code_submission

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


def eager_psnr(model_py: str, data: tuple[Path, Path]) -> list:
    """The scored images' PSNR as the team's model gives them in eager mode."""
    module = types.ModuleType("team_model")
    exec(textwrap.dedent(model_py), module.__dict__)  # noqa: S102 - the test's own source
    torch.manual_seed(BUILD_SEED)  # as the export stage seeds before build_model()
    model = module.build_model().eval()
    lr_dir, hr_dir = data
    scores = []
    with torch.inference_mode():
        for key in SCORED:
            lr = torch.from_numpy(np.array(Image.open(lr_dir / f"{key}x4.png"))).permute(2, 0, 1)[None] / 255
            sr = (model(lr).clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
            scores.append(psnr(sr, np.load(hr_dir / f"{key}.npy")))
    return scores


CHEAP_AT_THE_TIMED_SIZE = TINY_MODEL.replace("        return self.up(self.conv(x))", """
        if x.shape[-1] == 16:  # the timed images' width: bicubic, nearly free
            return torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic")
        return self.up(self.conv(x))""")


def test_a_model_that_is_cheap_at_the_timed_size_is_refused(make_submission, two_sizes, limits, tmp_path):
    """12.1: per-size export gave the timed size a bicubic program and the scored size the network
    (ratio 0.0073 instead of 1.21). One program cannot run both sizes; exported per size (issue 19),
    the programs must do alike work per pixel, counted by stage 2 program by program."""
    reason = refused(make_submission(CHEAP_AT_THE_TIMED_SIZE), two_sizes, limits, tmp_path / "work")
    assert "less work per pixel on the timed images (16×16) than on the images it is scored on (9×10)" in reason, reason


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
    program per image size; the worker reads one program name, or one per size named by the sizes."""
    code = make_submission(REWRITE_RESULT_PER_SIZE + TINY_MODEL)
    with pytest.raises(CodeRunError, match="did not name one program for every image size"):
        run(code, dataset, limits, tmp_path / "work", runtime_keys=None, scoring_keys=KEYS[:2])


RENAME_PROGRAMS_PER_SIZE = """
import atexit, json, os


def per_size():  # the one program, under the names of a per-size export, recording 256×256 in both
    graph = json.load(open("/sandbox/out/program-any.json"))
    graph["input_size"] = [256, 256]
    for name in ("program-32x32.json", "program-256x256.json"):
        json.dump(graph, open(f"/sandbox/out/{name}", "w"))
    json.dump({"programs": ["program-32x32.json", "program-256x256.json"]}, open("/sandbox/out/result.json", "w"))


atexit.register(per_size)
leave = os._exit
os._exit = lambda code: (per_size(), leave(code))
"""


def test_stage_2_places_each_per_size_program_at_the_size_it_records(make_submission, dataset, limits, tmp_path):
    """Issue 19: a per-size result is not taken on stage 1's word: a file named for 32×32 that
    records another size is refused, whatever the result maps."""
    code = make_submission(RENAME_PROGRAMS_PER_SIZE + TINY_MODEL)
    with pytest.raises(CodeRunError, match="program-32x32.json does not record the input size it was exported for"):
        run(code, dataset, limits, tmp_path / "work", runtime_keys=None, scoring_keys=KEYS[:2])


ROLLS_ON_ODD_WIDTHS = TINY_MODEL.replace("        return self.up(self.conv(x))", """
        shift = x.shape[2] // 2 if x.shape[3] % 2 else 0  # a branch on the width's parity
        return self.up(self.conv(torch.roll(x, shift, 2)))""")


def test_a_model_whose_output_depends_on_the_width_parity_is_not_scored_with_the_wrong_program(
        make_submission, two_sizes, limits, tmp_path):
    """13.3: the program exported at an even width was run on odd widths, where torch's recorded
    assumption (width even) does not hold, and scored 30.21 dB where the model gives 15.87 dB. Now
    it is exported per size (issue 19), each program the model at its size: scored as its eager run."""
    evaluation = run(make_submission(ROLLS_ON_ODD_WIDTHS), two_sizes, limits, tmp_path / "work")
    assert "exported at 16×16, it differs from the model at 9×10" in evaluation.log
    assert "torch.export assumed" in evaluation.log and "% 2 == 0" in evaluation.log
    assert evaluation.export == "one program per input size: 9×10, 16×16, 256×256"
    assert evaluation.psnr == pytest.approx(mean_psnr(eager_psnr(ROLLS_ON_ODD_WIDTHS, two_sizes)), abs=1e-3)


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
    assert evaluation.export == "one program for every image size"
    assert evaluation.psnr == pytest.approx(mean_psnr(eager_psnr(SPECIAL_PATH_AT_ITS_IMAGE_SIZE, two_sizes)), abs=1e-3)
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


KEEPS_STATE_IN_A_PLAIN_ATTRIBUTE = TINY_MODEL.replace("        self.up = nn.PixelShuffle(4)", """        self.up = nn.PixelShuffle(4)
        self.level = torch.zeros(())  # a plain tensor attribute, not a buffer""").replace(
    "        return self.up(self.conv(x))", """        self.level = self.level + 0.1  # state kept from call to call
        pooled = torch.nn.functional.adaptive_max_pool2d(x, (x.shape[2] // 2, x.shape[3] // 2))
        return self.up(self.conv(x + self.level + torch.nn.functional.interpolate(pooled, size=x.shape[2:])))""")


def test_torchs_hint_about_assigned_attributes_is_in_the_reason(make_submission, two_sizes, limits, tmp_path):
    """Issue 19: torch warns that a tensor attribute assigned in forward() must be a buffer; that
    is the cause the team must fix, so it belongs in the reason line, not only in the log."""
    reason = refused(make_submission(KEEPS_STATE_IN_A_PLAIN_ATTRIBUTE), two_sizes, limits, tmp_path / "work")
    assert "\n" not in reason and "the program is not the model there" in reason
    assert "(torch warned: The tensor attribute self.level was assigned during export. Such attributes must be " \
           "registered as buffers" in reason
