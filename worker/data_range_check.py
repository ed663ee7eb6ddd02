"""A hint for the commonest silent mistake of a code submission: the wrong ``data_range``.

A model trained on 0..255 inputs but submitted with ``data_range: 1`` (or the reverse) still runs
and is scored, far below plain bicubic upscaling, with most of its output clipped to black or
white. Both signs together are rare otherwise, so the team's log says what to check.
"""

import numpy as np
from PIL import Image

from scoring.psnr import ImagePSNR, psnr

CHECKED_IMAGES = 4
"""Bicubic is computed on this many scoring images only: the hint must cost next to nothing."""
FAR_BELOW_DB = 6.0
CLIPPED_SHARE = 0.5


def clipped_share(sr: np.ndarray) -> float:
    """Share of output values at 0 or 255."""
    return float(np.count_nonzero((sr == 0) | (sr == 255))) / sr.size


def data_range_hint(lr: dict[str, np.ndarray], hr: dict[str, np.ndarray], image_psnr: dict[str, ImagePSNR],
                    clipped: dict[str, float], data_range: float) -> str | None:
    """A note for the team's log when the first scoring images look like a data-range mistake.

    ``lr``/``hr``/``clipped`` hold the checked images (uint8 H×W×3) and the model's clipped share.
    """
    keys = [key for key in clipped if key in hr][:CHECKED_IMAGES]
    if not keys:
        return None
    model = float(np.mean([image_psnr[key].db for key in keys]))
    bicubic = float(np.mean([psnr(_bicubic(lr[key], hr[key].shape), hr[key], name=key).db for key in keys]))
    share = float(np.mean([clipped[key] for key in keys]))
    if model > bicubic - FAR_BELOW_DB or share < CLIPPED_SHARE:
        return None
    other = 255 if data_range == 1 else 1
    return (f"note: on {len(keys)} image(s) the model scores {model:.2f} dB, far below bicubic upscaling "
            f"({bicubic:.2f} dB), and {share:.0%} of its output is clipped to 0 or 255: the data range may be "
            f"wrong. submission.yaml says data_range: {data_range:g}; if the model was trained on inputs in "
            f"0..{other:g}, set data_range: {other:g}.")


def _bicubic(lr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return np.asarray(Image.fromarray(lr).resize((shape[1], shape[0]), Image.Resampling.BICUBIC))
