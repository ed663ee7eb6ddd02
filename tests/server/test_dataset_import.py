"""`dataset import` refuses a missing folder, a badly named or a grayscale PNG in one line, importing nothing."""

import numpy as np
import pytest
from PIL import Image

from scoring.naming import image_key, lr_name
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


@pytest.mark.parametrize(("name", "key"), [("0801x3.png", "0801"), ("0801x4.png", "0801x4")])
def test_image_keys_follow_the_competitions_scale(session, tmp_path, name, key):
    """At ×3 the LR suffix is x3: an HR image named like its LR input keeps the key a results zip gives it."""
    phase = get_phase_by_path(session, "aim2019/validation")
    phase.competition.scale = 3
    source = tmp_path / "hr"
    source.mkdir()
    Image.fromarray(np.zeros((24, 24, 3), np.uint8)).save(source / name)
    storage = Storage(tmp_path / "var")
    import_hr_images(storage, phase, source, workers=1)
    assert [p.stem for p in storage.hr_dir("aim2019", "validation").glob("*.npy")] == [key]
    assert [p.name for p in storage.lr_dir("aim2019", "validation").glob("*.png")] == [lr_name(key, 3)]
    assert image_key(lr_name(key, 3), 3) == image_key(name, 3) == key
