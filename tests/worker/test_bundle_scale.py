"""A code re-run takes the scale and the border shave from the competition bundle, as results zips do."""

import os
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from scoring.psnr import psnr
from tests.worker.conftest import KEYS, TINY_MODEL
from worker.code_eval import evaluate_code_submission

X2_MODEL = TINY_MODEL.replace("nn.Conv2d(3, 48, 3, padding=1)", "nn.Conv2d(3, 12, 3, padding=1)").replace(
    "PixelShuffle(4)", "PixelShuffle(2)")


@pytest.mark.slow
def test_a_x2_bundle_without_shave_is_measured_at_x2_and_scored_on_every_pixel(make_submission, dataset, limits,
                                                                                 tmp_path):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("the sandbox runs as root (per-job uids) and needs util-linux unshare")
    _lr_x4, hr_dir = dataset
    lr_dir = tmp_path / "lr-x2"
    lr_dir.mkdir()
    keys = KEYS[:2]
    for key in keys:
        hr = np.load(hr_dir / f"{key}.npy")
        Image.fromarray(hr.reshape(64, 2, 64, 2, 3).mean(axis=(1, 3)).round().astype(np.uint8)).save(
            lr_dir / f"{key}x2.png")
    code = make_submission(X2_MODEL)
    torch.manual_seed(7)
    weights = {"conv.weight": torch.randn(12, 3, 3, 3) * 0.2, "conv.bias": torch.rand(12) * 0.5}
    save_file(weights, code / "model.safetensors")
    evaluation = evaluate_code_submission(code, lr_dir, hr_dir, None, keys, limits, tmp_path / "work",
                                          scale=2, shave=0)
    for key in keys:
        lr = torch.from_numpy(np.asarray(Image.open(lr_dir / f"{key}x2.png")).copy()).permute(2, 0, 1)[None] / 255
        out = torch.pixel_shuffle(torch.conv2d(lr, weights["conv.weight"], weights["conv.bias"], padding=1), 2)
        sr = (out.clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
        expected = psnr(sr, np.load(hr_dir / f"{key}.npy"), shave=0, name=key).db
        assert evaluation.image_psnr[key].db == pytest.approx(expected, abs=1e-6)
        assert expected != pytest.approx(psnr(sr, np.load(hr_dir / f"{key}.npy"), name=key).db, abs=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("scale", [2, 3])
def test_a_x2_and_a_x3_bundle_time_their_baseline_at_their_scale_for_the_bundles_runs(make_submission, dataset,
                                                                                       limits, tmp_path, scale):
    """NTIRE 2024's RLFN at ×2 / ×3 is the network timed in the job (before: MSRResNet ×4 on the
    ×2 inputs, and nothing could run ×3), over the bundle's trial count (before: always three)."""
    from scoring.rlfn import PARAMS

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("the sandbox runs as root (per-job uids) and needs util-linux unshare")
    _lr_x4, hr_x4 = dataset
    lr_dir, hr_dir = tmp_path / "lr", tmp_path / "hr"
    lr_dir.mkdir()
    hr_dir.mkdir()
    key, side = KEYS[0], 126 // scale  # 128×128 HR, cropped to a multiple of the scale
    hr = np.ascontiguousarray(np.load(hr_x4 / f"{key}.npy")[:side * scale, :side * scale])
    np.save(hr_dir / f"{key}.npy", hr)
    lr = hr.reshape(side, scale, side, scale, 3).mean(axis=(1, 3)).round().astype(np.uint8)
    Image.fromarray(lr).save(lr_dir / f"{key}x{scale}.png")
    model = X2_MODEL.replace("nn.Conv2d(3, 12,", f"nn.Conv2d(3, {3 * scale * scale},").replace(
        "PixelShuffle(2)", f"PixelShuffle({scale})")
    evaluation = evaluate_code_submission(make_submission(model), lr_dir, hr_dir, None, [key], limits,
                                          tmp_path / "work", scale=scale, baseline={"name": "RLFN", "scale": scale},
                                          timing={"protocol": "mean_of", "runs": 2})
    assert evaluation.environment["baseline"] == {"name": "RLFN", "scale": scale, "params": PARAMS[scale]}
    assert evaluation.environment["trials"] == 2
    assert len(evaluation.runtime.trials) == len(evaluation.baseline_runtime.trials) == 2
