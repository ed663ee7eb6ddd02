"""The data-range hint, in-process: said for a saturated, far-below-bicubic output, not otherwise."""

import numpy as np

from scoring.psnr import psnr
from worker.data_range_check import clipped_share, data_range_hint


def images():
    yy, xx = np.mgrid[0:64, 0:48] / 64
    hr = np.clip(np.stack([np.sin(4 * xx + 3 * yy + p) for p in (0, 2, 4)], -1) * 100 + 128, 0, 255).astype(np.uint8)
    lr = hr.reshape(16, 4, 12, 4, 3).mean(axis=(1, 3)).round().astype(np.uint8)
    return {"a": lr}, {"a": hr}


def hint_for(sr: np.ndarray, data_range: float = 1.0):
    lr, hr = images()
    return data_range_hint(lr, hr, {"a": psnr(sr, hr["a"], name="a")}, {"a": clipped_share(sr)}, data_range)


def test_white_output_of_a_0_255_model_gets_the_hint():
    text = hint_for(np.full((64, 48, 3), 255, np.uint8))
    assert "data range may be wrong" in text and "set data_range: 255" in text


def test_a_good_or_merely_poor_output_gets_no_hint():
    _lr, hr = images()
    assert hint_for(hr["a"]) is None
    grey = np.full((64, 48, 3), 128, np.uint8)  # far below bicubic, but not clipped: a bad model, not a range
    assert hint_for(grey) is None
    assert "set data_range: 1" in hint_for(np.zeros((64, 48, 3), np.uint8), data_range=255.0)
