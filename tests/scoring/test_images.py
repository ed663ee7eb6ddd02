import io

import numpy as np
import pytest
from PIL import Image

from scoring.errors import SubmissionError
from scoring.images import decode_png
from tests.scoring.pngs import png_bytes, random_rgb, raw_png

LIMIT = 50_000_000


def decode(data, expected_size=None, max_pixels=LIMIT):
    return decode_png(data, "0803.png", expected_size, max_pixels=max_pixels)


def rejected(data, **kwargs) -> str:
    with pytest.raises(SubmissionError) as err:
        decode(data, **kwargs)
    return str(err.value)


def test_rgb_round_trips_from_bytes_and_paths(tmp_path):
    img = random_rgb(37, 53)
    out = decode(png_bytes(img), expected_size=(53, 37))
    assert out.dtype == np.uint8 and out.shape == (37, 53, 3)
    np.testing.assert_array_equal(out, img)
    path = tmp_path / "0803.png"
    path.write_bytes(png_bytes(img))
    np.testing.assert_array_equal(decode(path), img)


def test_wrong_size_is_refused_from_the_header_alone():
    # Only a header and an empty IDAT: the size check must not need the pixels.
    message = rejected(raw_png(510, 339), expected_size=(2040, 1356))
    assert message == "0803.png is 510×339, expected 2040×1356"


def test_header_claiming_a_huge_image_is_refused_before_decoding():
    message = rejected(raw_png(100_000, 100_000))
    assert "100000×100000" in message and "above the limit of 50,000,000" in message


def test_pillow_bomb_guard_is_a_second_line():
    # With our own limit out of the way, Pillow's DecompressionBombError must still be turned
    # into a reason for the team rather than escape as an internal error.
    assert "too large to decode safely" in rejected(raw_png(100_000, 100_000), max_pixels=10**12)


def test_truncated_png():
    data = png_bytes(random_rgb(200, 200))
    assert "0803.png is truncated" in rejected(data[: len(data) // 2])
    assert "truncated or corrupt" in rejected(data[:20])


def test_corrupt_pixel_data():
    data = bytearray(png_bytes(random_rgb(64, 64)))
    data[100] ^= 0xFF
    assert "truncated or corrupt" in rejected(bytes(data))


@pytest.mark.parametrize("fmt", ["JPEG", "BMP"])
def test_other_formats_are_not_png(fmt, tmp_path):
    path = tmp_path / "x"
    Image.fromarray(random_rgb(16, 16)).save(path, fmt)
    assert "0803.png is not a PNG file" in rejected(path.read_bytes())
    assert "is not a PNG file" in rejected(b"")


@pytest.mark.parametrize("mode", ["L", "LA", "1"])
def test_grayscale_is_refused(mode):
    image = Image.fromarray(random_rgb(16, 16)).convert(mode)
    assert rejected(png_bytes(image)) == "0803.png is grayscale; submit an RGB PNG"


@pytest.mark.parametrize(("bit_depth", "color_type", "channels"), [(16, 2, 3), (16, 6, 4)])
def test_16_bit_colour_is_refused(bit_depth, color_type, channels):
    # Pillow would open these as 8-bit RGB(A) and silently drop the low bytes.
    pixels = np.random.default_rng(0).integers(0, 65536, (8, 8 * channels)).astype(">u2")
    rows = b"".join(b"\x00" + row.tobytes() for row in pixels)
    data = raw_png(8, 8, bit_depth, color_type, rows)
    assert Image.open(io.BytesIO(data)).mode in ("RGB", "RGBA")
    assert rejected(data) == "0803.png is a 16-bit PNG; submit an 8-bit RGB PNG"


def test_16_bit_grayscale_is_refused():
    image = Image.fromarray(np.zeros((8, 8), np.uint16))
    assert "grayscale" in rejected(png_bytes(image))


def test_opaque_rgba_is_accepted_without_its_alpha():
    img = random_rgb(20, 30)
    rgba = np.dstack([img, np.full((20, 30), 255, np.uint8)])
    np.testing.assert_array_equal(decode(png_bytes(rgba)), img)


def test_transparent_rgba_is_refused():
    rgba = np.dstack([random_rgb(20, 30), np.full((20, 30), 255, np.uint8)])
    rgba[3, 4, 3] = 254
    assert rejected(png_bytes(rgba)) == "0803.png has transparent pixels; submit an opaque RGB PNG"


def test_palette_is_expanded_to_rgb():
    img = random_rgb(20, 30)
    palette_image = Image.fromarray(img).quantize(colors=16)
    expected = np.asarray(palette_image.convert("RGB"))
    assert Image.open(io.BytesIO(png_bytes(palette_image))).mode == "P"
    np.testing.assert_array_equal(decode(png_bytes(palette_image)), expected)


def test_palette_transparency_counts_only_where_used():
    indices = np.zeros((10, 10), np.uint8)
    image = Image.fromarray(indices, mode="L").convert("P")
    image.putpalette([10, 20, 30, 40, 50, 60])
    unused = png_bytes(image, transparency=1)
    np.testing.assert_array_equal(decode(unused), np.broadcast_to([10, 20, 30], (10, 10, 3)))
    assert "transparent pixels" in rejected(png_bytes(image, transparency=0))


def test_rgb_colour_key_transparency_counts_only_where_used():
    img = random_rgb(10, 10) // 2
    np.testing.assert_array_equal(decode(png_bytes(img, transparency=(255, 255, 254))), img)
    img[0, 0] = (255, 255, 254)
    assert "transparent pixels" in rejected(png_bytes(img, transparency=(255, 255, 254)))


def test_animated_png_is_refused():
    frames = [Image.fromarray(random_rgb(8, 8, seed)) for seed in range(2)]
    data = png_bytes(frames[0], save_all=True, append_images=frames[1:])
    assert "animated" in rejected(data)
