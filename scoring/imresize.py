"""MATLAB-compatible bicubic ``imresize``, the degradation that made the DIV2K LR images.

Written by hand because no Python library reproduces MATLAB: Pillow, OpenCV, scikit-image and
``torch.nn.functional.interpolate`` differ in the kernel, in antialiasing when shrinking or in
border handling, and an LR image that is off by a grey level changes every PSNR downstream.

What MATLAB's ``imresize(img, scale, 'bicubic')`` does, and so what this does:

* Keys' cubic kernel with a = −0.5, support 4. When shrinking (scale < 1) the kernel is
  antialiased: stretched by 1/scale and its height multiplied by scale, so x1/4 has 16 taps.
* Output sample ``x`` (1-based) sits at input position ``x/scale + (1 − 1/scale)/2``; each
  row of weights is normalised to sum to 1.
* Border indices are mirrored with the edge pixel repeated (``[1..n, n..1]``, periodic).
* Separable: the dimension with the smaller scale first, dimension 0 on a tie — with one
  scalar scale that is always rows (H) and then columns (W).
* Each pass sums in float64; for uint8 input MATLAB's ``imresizemex`` returns uint8 after
  *each* pass (its output class is the input class), rounding half away from zero and
  saturating. That intermediate rounding is kept here: resizing in float and rounding once
  at the end (as BasicSR does) differs from the real DIV2K LR images by one level in places.

Each pass is a gather + weighted sum over the taps (16 for x1/4), vectorised over a whole
row or column at a time, so a 2K image takes a fraction of a second.
"""

import math

import numpy as np

SCALE = 4
"""The challenge's magnification (report §2.1: LR is HR bicubically downsampled by 4)."""

_KERNEL_WIDTH = 4.0


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = −0.5, as in MATLAB's ``cubic``."""
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    inner = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    outer = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return inner + outer


def contributions(in_len: int, out_len: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights and 0-based input indices, both ``(out_len, taps)``, for resizing one dimension.

    Output ``i`` is ``sum(weights[i] * signal[indices[i]])``. Indices are already mirrored
    into ``[0, in_len)``; taps whose weight is zero for every output are dropped.
    """
    if scale < 1:
        kernel_width = _KERNEL_WIDTH / scale

        def kernel(x: np.ndarray) -> np.ndarray:
            return scale * _cubic(scale * x)

    else:
        kernel_width = _KERNEL_WIDTH
        kernel = _cubic

    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    taps = math.ceil(kernel_width) + 2
    indices = left[:, None] + np.arange(taps)[None, :]
    weights = kernel(u[:, None] - indices)
    weights /= weights.sum(axis=1, keepdims=True)

    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_len)]
    used = np.any(weights != 0, axis=0)
    return weights[:, used], indices[:, used]


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """MATLAB's double → uint8: round half away from zero, saturate to [0, 255]."""
    return np.clip(np.floor(values + 0.5), 0, 255).astype(np.uint8)


def _resize_axis(img: np.ndarray, axis: int, out_len: int, scale: float) -> np.ndarray:
    weights, indices = contributions(img.shape[axis], out_len, scale)
    moved = np.moveaxis(img, axis, 0)
    shape = (out_len,) + (1,) * (moved.ndim - 1)
    acc = np.zeros((out_len,) + moved.shape[1:], dtype=np.float64)
    for tap in range(weights.shape[1]):
        acc += weights[:, tap].reshape(shape) * moved[indices[:, tap]]
    return np.moveaxis(_to_uint8(acc), 0, axis)


def imresize(img: np.ndarray, scale: float) -> np.ndarray:
    """Resize a uint8 H×W or H×W×C image by ``scale`` like MATLAB's bicubic ``imresize``.

    The output is ``ceil(H·scale) × ceil(W·scale)``, uint8.
    """
    if img.dtype != np.uint8 or img.ndim not in (2, 3):
        raise ValueError(f"imresize takes a uint8 H×W or H×W×C image, got {img.dtype} {img.shape}")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    out = img
    for axis in (0, 1):
        out = _resize_axis(out, axis, math.ceil(img.shape[axis] * scale), scale)
    return out


def crop_to_multiple(img: np.ndarray, factor: int) -> np.ndarray:
    """Crop the bottom rows and right columns so H and W are multiples of ``factor`` (a view)."""
    height, width = img.shape[:2]
    return img[: height - height % factor, : width - width % factor]


def make_lr(hr: np.ndarray, scale: int = SCALE) -> np.ndarray:
    """The LR input for an HR image: MATLAB bicubic downscaling by ``1/scale``.

    H and W must be multiples of ``scale`` (use ``crop_to_multiple`` first), so that the SR
    output of the LR image has exactly the HR size.
    """
    height, width = hr.shape[:2]
    if height % scale or width % scale:
        raise ValueError(f"HR image is {width}×{height}, not a multiple of {scale} in both dimensions")
    return imresize(hr, 1.0 / scale)
