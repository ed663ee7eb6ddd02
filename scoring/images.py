"""Decoding untrusted PNG bytes into uint8 RGB arrays, with a team-facing reason for each refusal.

Everything that can be judged from the IHDR header (signature, size, bit depth, colour type)
is checked before any pixel is decompressed, so a header claiming 100,000×100,000 pixels
costs nothing. Pillow's own decompression-bomb guard is kept as a second line.

Accepted, since each has one obvious RGB meaning:
  * 8-bit RGB, as is;
  * 8-bit RGBA, and RGB or palette images with a tRNS chunk, only if every pixel is fully
    opaque (alpha is dropped); any transparent pixel is refused, because what it should be
    composited over is a guess;
  * palette images (any bit depth), expanded to RGB.
Refused:
  * grayscale (with or without alpha): PSNR is taken over three RGB channels, and a gray SR
    output is almost always a single channel (e.g. Y) saved by mistake; replicating it would
    score a wrong file instead of saying so;
  * 16-bit PNGs: Pillow opens 16-bit RGB(A) as 8-bit and silently drops the low byte, so the
    bit depth is read from the IHDR chunk itself; rounding the team's data for them is not ours
    to decide;
  * anything that is not a PNG, animated PNGs, truncated or corrupt files.

Sizes in messages are width×height, as image viewers show them.
"""

import io
import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from scoring.errors import SubmissionError

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_GRAY, _RGB, _PALETTE, _GRAY_ALPHA, _RGBA = 0, 2, 3, 4, 6
_VALID_DEPTHS = {_GRAY: {1, 2, 4, 8, 16}, _RGB: {8, 16}, _PALETTE: {1, 2, 4, 8},
                 _GRAY_ALPHA: {8, 16}, _RGBA: {8, 16}}


def _read_ihdr(data: bytes, name: str) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) from the header, or a reason it is no PNG."""
    if not data.startswith(_SIGNATURE):
        raise SubmissionError(f"{name} is not a PNG file (the PNG signature is missing)")
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise SubmissionError(f"{name} is truncated or corrupt: its PNG header is incomplete")
    width, height, depth, color_type = struct.unpack(">IIBB", data[16:26])
    if width == 0 or height == 0 or depth not in _VALID_DEPTHS.get(color_type, ()):
        raise SubmissionError(f"{name} has an invalid PNG header")
    return width, height, depth, color_type


def _check_header(data: bytes, name: str, expected_size: tuple[int, int] | None, max_pixels: int) -> None:
    width, height, depth, color_type = _read_ihdr(data, name)
    if width * height > max_pixels:
        raise SubmissionError(
            f"{name} claims {width}×{height} pixels ({width * height:,}), "
            f"above the limit of {max_pixels:,}"
        )
    if expected_size is not None and (width, height) != tuple(expected_size):
        raise SubmissionError(f"{name} is {width}×{height}, expected {expected_size[0]}×{expected_size[1]}")
    if color_type in (_GRAY, _GRAY_ALPHA):
        raise SubmissionError(f"{name} is grayscale; submit an RGB PNG")
    if depth == 16:
        raise SubmissionError(f"{name} is a 16-bit PNG; submit an 8-bit RGB PNG")


def _decode(data: bytes, name: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG"])
            if image.format != "PNG":
                raise SubmissionError(f"{name} is not a PNG file")
            if getattr(image, "n_frames", 1) > 1:
                raise SubmissionError(f"{name} is an animated PNG; submit a single still image")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise SubmissionError(f"{name} is too large to decode safely") from None
    except UnidentifiedImageError:
        raise SubmissionError(f"{name} is truncated or corrupt: it could not be read as a PNG") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        detail = "the file is truncated" if "truncated" in str(err).lower() else str(err)
        raise SubmissionError(f"{name} is truncated or corrupt: {detail}") from None
    return image


def _to_rgb(image: Image.Image, name: str) -> np.ndarray:
    if image.mode == "RGBA" or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"))
        if not np.all(rgba[..., 3] == 255):
            raise SubmissionError(f"{name} has transparent pixels; submit an opaque RGB PNG")
        return np.ascontiguousarray(rgba[..., :3])
    if image.mode == "RGB":
        return np.asarray(image)
    if image.mode == "P":
        return np.asarray(image.convert("RGB"))
    raise SubmissionError(f"{name} has the unsupported PNG mode {image.mode}; submit an 8-bit RGB PNG")


def decode_png(
    data: bytes | Path,
    name: str,
    expected_size: tuple[int, int] | None = None,
    *,
    max_pixels: int,
) -> np.ndarray:
    """Decode a PNG from bytes (or a file) into a uint8 H×W×3 RGB array.

    ``name`` is the file name the team knows (e.g. ``0803.png``), used in every message.
    ``expected_size`` is **(width, height)**, Pillow's order; a mismatch is refused before
    decoding. Images above ``max_pixels`` are refused from the header alone. A path is read
    whole: callers bound its size (archive members go through ``read_member_limited``).
    """
    if isinstance(data, Path):
        data = data.read_bytes()
    _check_header(data, name, expected_size, max_pixels)
    with _decode(data, name) as image:
        return _to_rgb(image, name)
