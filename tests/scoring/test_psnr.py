import math

import numpy as np
import pytest

from scoring.errors import SubmissionError
from scoring.psnr import PSNR_CAP_DB, ImagePSNR, mean_psnr, psnr


def reference_psnr(sr: np.ndarray, hr: np.ndarray, shave: int) -> float:
    """The textbook formula in float64, written independently of the integer implementation."""
    a = sr.astype(np.float64)[shave : sr.shape[0] - shave, shave : sr.shape[1] - shave]
    b = hr.astype(np.float64)[shave : hr.shape[0] - shave, shave : hr.shape[1] - shave]
    mse = np.mean((a - b) ** 2)
    return 10.0 * math.log10(255.0**2 / mse)


@pytest.mark.parametrize("noise", [1, 5, 40, 255])
@pytest.mark.parametrize("shave", [0, 4])
def test_matches_float64_formula(noise, shave):
    rng = np.random.default_rng(noise)
    hr = rng.integers(0, 256, (150, 203, 3), dtype=np.uint8)
    sr = np.clip(hr.astype(np.int64) + rng.integers(-noise, noise + 1, hr.shape), 0, 255).astype(np.uint8)
    result = psnr(sr, hr, shave=shave)
    assert result.db == pytest.approx(reference_psnr(sr, hr, shave), abs=1e-10)
    assert not result.capped


def test_golden_values():
    hr = np.zeros((40, 50, 3), np.uint8)
    assert psnr(hr + 1, hr).db == pytest.approx(48.1308036086791, abs=1e-12)  # MSE 1: 20·log10(255)
    assert psnr(hr + 16, hr).db == pytest.approx(24.0484039555606, abs=1e-12)
    # Largest possible error everywhere: 255² per value must not overflow the integer sum.
    assert psnr(hr + 255, hr).db == pytest.approx(0.0, abs=1e-12)
    half = hr.copy()
    half[:, ::2] = 2  # MSE 2 over the whole image, and inside the 4-pixel shave too
    assert psnr(half, hr).db == pytest.approx(45.1205036520393, abs=1e-12)


def test_large_image_sums_exactly():
    hr = np.zeros((1356, 2040, 3), np.uint8)
    sr = np.full_like(hr, 255)
    sr[::2] = 254
    mse = (255**2 + 254**2) / 2
    assert psnr(sr, hr).db == pytest.approx(10 * math.log10(255**2 / mse), abs=1e-12)


@pytest.mark.parametrize("width", [2040, 22_017 + 8, 22_018 + 8])
def test_largest_error_sums_exactly_at_every_chunk_width(width):
    """255² everywhere: a chunk's sum at the uint32 limit (one 22,017-pixel row) and rows too wide
    for a uint32 sum (22,018 pixels) must still add up exactly."""
    hr = np.zeros((12, width, 3), np.uint8)
    sr = np.full_like(hr, 255)
    sr[:, -5] = 0  # one column of zero error just inside the shave: an MSE that is not 255²
    kept = (width - 8) * 3
    mse = 255**2 * (kept - 3) / kept
    assert psnr(sr, hr).db == pytest.approx(10 * math.log10(255**2 / mse), abs=1e-12)


def test_identical_images_are_capped():
    img = np.random.default_rng(0).integers(0, 256, (30, 30, 3), dtype=np.uint8)
    assert psnr(img, img.copy()) == ImagePSNR(db=PSNR_CAP_DB, capped=True)


def test_values_above_the_cap_are_capped():
    hr = np.zeros((300, 300, 3), np.uint8)
    sr = hr.copy()
    sr[150, 150, 0] = 1  # MSE = 1/255,792: about 102 dB
    assert reference_psnr(sr, hr, 4) > PSNR_CAP_DB
    assert psnr(sr, hr) == ImagePSNR(db=PSNR_CAP_DB, capped=True)


def test_shave_ignores_the_border_only():
    hr = np.full((20, 20, 3), 100, np.uint8)
    sr = hr.copy()
    sr[:4] = 0
    sr[:, -4:] = 255
    assert psnr(sr, hr, shave=4).capped
    assert not psnr(sr, hr, shave=3).capped
    sr[4, 4, 2] = 101  # first pixel inside the shave
    assert psnr(sr, hr, shave=4).db == pytest.approx(reference_psnr(sr, hr, 4), abs=1e-12)


def test_hr_may_be_a_read_only_memmap(tmp_path):
    hr = np.random.default_rng(1).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    np.save(tmp_path / "0801.npy", hr)
    mapped = np.load(tmp_path / "0801.npy", mmap_mode="r")
    sr = hr // 2
    assert psnr(sr, mapped).db == pytest.approx(reference_psnr(sr, hr, 4), abs=1e-12)


def test_size_mismatch_names_the_file_and_both_sizes():
    with pytest.raises(SubmissionError) as err:
        psnr(np.zeros((339, 510, 3), np.uint8), np.zeros((1356, 2040, 3), np.uint8), name="0803.png")
    assert str(err.value) == "0803.png is 510×339, expected 2040×1356"


@pytest.mark.parametrize(
    "bad", [np.zeros((20, 20, 3), np.float32), np.zeros((20, 20), np.uint8), np.zeros((20, 20, 4), np.uint8)]
)
def test_rejects_arrays_that_are_not_uint8_rgb(bad):
    with pytest.raises(ValueError):
        psnr(bad, np.zeros((20, 20, 3), np.uint8))


def test_image_smaller_than_the_shave():
    with pytest.raises(ValueError, match="no pixels left"):
        psnr(np.zeros((8, 30, 3), np.uint8), np.zeros((8, 30, 3), np.uint8))


def test_mean_psnr():
    scores = [ImagePSNR(28.5, False), ImagePSNR(30.25, False), ImagePSNR(PSNR_CAP_DB, True)]
    assert mean_psnr(scores) == pytest.approx((28.5 + 30.25 + 100.0) / 3, abs=1e-12)
    with pytest.raises(ValueError):
        mean_psnr([])
