"""`dataset import` refuses a missing folder, a badly named or a grayscale PNG in one line, importing nothing."""

import numpy as np
import pytest
from PIL import Image

from server.services.competitions import get_phase_by_path
from server.services.datasets import import_hr_images
from server.services.errors import ServiceError
from server.services.storage import Storage


@pytest.mark.parametrize(("name", "mode", "message"), [
    ("0801 copy.png", "RGB", "is not an image name of the form <name>.png"),
    ("0801.png", "L", "0801.png"),
])
def test_bad_images_are_one_line_and_import_nothing(session, tmp_path, name, mode, message):
    phase = get_phase_by_path(session, "aim2019/validation")
    source = tmp_path / "hr"
    source.mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(source / "0802.png")
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).convert(mode).save(source / name)
    with pytest.raises(ServiceError, match=message) as refused:
        import_hr_images(Storage(tmp_path / "var"), phase, source, workers=1)
    assert "nothing was imported" in refused.value.message and phase.image_count == 0


def test_a_missing_folder_is_said_plainly(session, tmp_path):
    phase = get_phase_by_path(session, "aim2019/validation")
    with pytest.raises(ServiceError, match="is not a folder"):
        import_hr_images(Storage(tmp_path / "var"), phase, tmp_path / "nope")
