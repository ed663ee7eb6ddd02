import pytest

from scoring.errors import SubmissionError
from scoring.naming import image_key, lr_name


@pytest.mark.parametrize(
    ("filename", "key"),
    [
        ("0801.png", "0801"),
        ("0801x4.png", "0801"),
        ("0801.PNG", "0801"),
        ("0801x4.Png", "0801"),
        ("baby_GT.png", "baby_GT"),
        ("img-001x4.png", "img-001"),
        # Only the DIV2K suffix is stripped: other spellings keep their own (different) key.
        ("0801_x4.png", "0801_"),
        ("0801x2.png", "0801x2"),
        ("0801X4.png", "0801X4"),
        ("x4.png", "x4"),
    ],
)
def test_image_key(filename, key):
    assert image_key(filename, 4) == key


def test_image_key_uses_the_given_scale():
    assert image_key("0801x2.png", scale=2) == "0801"
    assert image_key("0801x4.png", scale=2) == "0801x4"


@pytest.mark.parametrize(
    "filename",
    [
        "0801.jpg", "0801", "notes.docx", "08 01.png", ".png", "results/0801.png", "0801.png.exe",
        "_0801.png", "0801.png ",
    ],
)
def test_image_key_rejects_other_names(filename):
    with pytest.raises(SubmissionError, match="is not an image name") as err:
        image_key(filename, 4)
    assert repr(filename) in str(err.value)


def test_lr_name_round_trips():
    assert lr_name("0801", 4) == "0801x4.png"
    assert lr_name("0801", scale=3) == "0801x3.png"
    assert image_key(lr_name("0899", 4), 4) == "0899"
