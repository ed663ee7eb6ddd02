import numpy as np
import pytest

from scoring.imresize import contributions, crop_to_multiple, imresize, make_lr

X4_TAPS = np.array([-7, -45, -75, -49, 93, 399, 745, 987, 987, 745, 399, 93, -49, -75, -45, -7]) / 4096
PAD = 24


def keys_cubic(x: float) -> float:
    """Keys (1981) with a = -0.5, in its textbook form."""
    a, x = -0.5, abs(x)
    if x <= 1:
        return (a + 2) * x**3 - (a + 3) * x**2 + 1
    if x < 2:
        return a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a
    return 0.0


def padded_weights(in_len: int, out_len: int, scale: float) -> np.ndarray:
    """Dense (out_len, in_len + 2·PAD) weights over a symmetrically padded signal, from the formula."""
    stretch = min(scale, 1.0)
    weights = np.zeros((out_len, in_len + 2 * PAD))
    for i in range(out_len):
        centre = (i + 1) / scale + 0.5 * (1 - 1 / scale)  # 1-based input position
        for p in range(in_len + 2 * PAD):
            position = p - PAD + 1
            weights[i, p] = stretch * keys_cubic(stretch * (centre - position))
        weights[i] /= weights[i].sum()
    return weights


def matlab_round(x: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(x + 0.5), 0, 255)


def reference_resize(img: np.ndarray, scale: float, round_between: bool) -> np.ndarray:
    """Slow reference: explicit np.pad(mode='symmetric') and dense weight matrices.

    ``round_between=False`` is the plain 2-D product ``Wr · padded · Wcᵀ``; ``True`` rounds to
    uint8 after the row pass, as MATLAB's imresizemex does for uint8 input.
    """
    out_h, out_w = int(np.ceil(img.shape[0] * scale)), int(np.ceil(img.shape[1] * scale))
    wr = padded_weights(img.shape[0], out_h, scale)
    wc = padded_weights(img.shape[1], out_w, scale)
    channels = img.reshape(img.shape[0], img.shape[1], -1).astype(np.float64)
    out = np.empty((out_h, out_w, channels.shape[2]))
    for c in range(channels.shape[2]):
        if round_between:
            rows = matlab_round(wr @ np.pad(channels[:, :, c], ((PAD, PAD), (0, 0)), mode="symmetric"))
            out[:, :, c] = np.pad(rows, ((0, 0), (PAD, PAD)), mode="symmetric") @ wc.T
        else:
            out[:, :, c] = wr @ np.pad(channels[:, :, c], PAD, mode="symmetric") @ wc.T
    return out.reshape((out_h, out_w) + img.shape[2:])


def test_quarter_scale_interior_taps_are_matlabs():
    weights, indices = contributions(2040, 510, 0.25)
    assert weights.shape == indices.shape == (510, 16)
    for row in (2, 100, 507):
        np.testing.assert_array_equal(weights[row], X4_TAPS)
        np.testing.assert_array_equal(indices[row], np.arange(4 * row - 6, 4 * row + 10))


def test_contribution_rows_sum_to_one_and_stay_in_range():
    cases = [(2040, 510, 0.25), (37, 10, 0.25), (13, 52, 4.0), (50, 25, 0.5), (30, 10, 1 / 3)]
    for in_len, out_len, scale in cases:
        weights, indices = contributions(in_len, out_len, scale)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
        assert indices.min() >= 0 and indices.max() < in_len


def test_border_indices_mirror_with_the_edge_repeated():
    n = 40
    mirrored = np.pad(np.arange(n), PAD, mode="symmetric")
    _, indices = contributions(n, 10, 0.25)
    # First output sits at input 2.5 (1-based): its taps run over input positions -5..10.
    np.testing.assert_array_equal(indices[0], mirrored[PAD - 6 : PAD + 10])
    np.testing.assert_array_equal(indices[0, :8], [5, 4, 3, 2, 1, 0, 0, 1])
    np.testing.assert_array_equal(indices[-1], mirrored[PAD + 4 * 9 - 6 : PAD + 4 * 9 + 10])


SHAPES_AND_SCALES = [
    ((64, 96, 3), 0.25), ((128, 128, 3), 0.25), ((52, 44), 0.5), ((13, 17, 3), 4.0), ((30, 33, 3), 1 / 3),
]


@pytest.mark.parametrize(("shape", "scale"), SHAPES_AND_SCALES)
def test_matches_the_slow_reference_exactly(shape, scale):
    img = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    exact = reference_resize(img, scale, round_between=True)
    np.testing.assert_array_equal(imresize(img, scale), matlab_round(exact))


@pytest.mark.parametrize(("shape", "scale"), SHAPES_AND_SCALES)
def test_within_one_level_of_a_single_final_rounding(shape, scale):
    # Mid-range values keep the row pass inside [0, 255], so only the intermediate rounding differs
    # (at most 0.5·Σ|w| < 1 before the final rounding); on noise about 12% of values move by one.
    # Full-range noise would also differ where the row pass saturates.
    img = np.random.default_rng(sum(shape)).integers(32, 224, shape, dtype=np.uint8)
    plain = matlab_round(reference_resize(img, scale, round_between=False))
    diff = np.abs(imresize(img, scale).astype(int) - plain)
    assert diff.max() <= 1
    assert np.mean(diff == 0) > 0.75


def test_rounds_half_away_from_zero_like_matlab():
    img = np.random.default_rng(7).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    exact = reference_resize(img, 0.25, round_between=True)
    ties = np.mod(exact, 1) == 0.5
    assert ties.any(), "the test image must contain exact .5 results to test rounding"
    out = imresize(img, 0.25)
    np.testing.assert_array_equal(out[ties], np.floor(exact[ties]) + 1)


@pytest.mark.parametrize("scale", [0.25, 0.5, 4.0])
def test_constant_image_stays_constant(scale):
    img = np.full((24, 36, 3), 173, np.uint8)
    out = imresize(img, scale)
    assert (out == 173).all()


@pytest.mark.parametrize(
    ("shape", "scale", "expected"),
    [
        ((1356, 2040, 3), 0.25, (339, 510, 3)),
        ((10, 10), 0.25, (3, 3)),
        ((5, 7, 3), 4, (20, 28, 3)),
        ((9, 9, 1), 0.5, (5, 5, 1)),
    ],
)
def test_output_shape_is_ceil_of_scaled_size(shape, scale, expected):
    out = imresize(np.zeros(shape, np.uint8), scale)
    assert out.shape == expected and out.dtype == np.uint8


def test_overshoot_is_clipped_to_uint8():
    img = np.zeros((16, 16, 3), np.uint8)
    img[:, 8:] = 255
    img[4:12, 4:12] = 0
    plain = reference_resize(img, 4.0, round_between=False)
    assert plain.min() < -0.5 and plain.max() > 255.5, "cubic ringing must overshoot for this test"
    out = imresize(img, 4.0)
    assert out.min() == 0 and out.max() == 255
    np.testing.assert_array_equal(out, matlab_round(reference_resize(img, 4.0, round_between=True)))


def test_rejects_non_uint8_input():
    with pytest.raises(ValueError):
        imresize(np.zeros((8, 8, 3), np.float32), 0.25)


def test_make_lr_requires_multiples_of_the_scale():
    hr = np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    np.testing.assert_array_equal(make_lr(hr), imresize(hr, 0.25))
    assert make_lr(hr).shape == (12, 16, 3)
    with pytest.raises(ValueError, match="not a multiple of 4"):
        make_lr(hr[:47])
    with pytest.raises(ValueError, match="not a multiple of 4"):
        make_lr(hr[:, :62])


def test_crop_to_multiple_keeps_the_top_left():
    img = np.arange(11 * 14 * 3, dtype=np.uint8).reshape(11, 14, 3)
    cropped = crop_to_multiple(img, 4)
    assert cropped.shape == (8, 12, 3)
    np.testing.assert_array_equal(cropped, img[:8, :12])
    assert crop_to_multiple(img[:8, :12], 4).shape == (8, 12, 3)
