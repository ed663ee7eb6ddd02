"""Which uploads are code submissions: ``kind``, or a model.py at the top or in the zip's one folder."""

import zipfile

import pytest

from server.services.errors import ServiceError
from server.services.submissions import submission_kind


def zipped(tmp_path, names: list[str]):
    path = tmp_path / "upload.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(name, b"" if name.endswith("/") else b"x")
    return path


@pytest.mark.parametrize(("names", "kind"), [
    (["model.py", "model.pth"], "code"),
    (["team_rainbow/", "team_rainbow/model.py", "team_rainbow/model.pth"], "code"),
    (["team_rainbow/model.py", "team_rainbow/model.pth"], "code"),
    (["0801.png", "0802.png", "readme.txt"], "results"),
    (["results/0801.png", "results/model.py.txt"], "results"),
    (["a/model.py", "b/0801.png"], "results"),
    (["a/model.py", "readme.txt"], "results"),
    (["a/b/model.py"], "results"),
])
def test_kind_follows_model_py_at_the_top_or_in_one_folder(tmp_path, names, kind):
    assert submission_kind(zipped(tmp_path, names), None) == kind


def test_declared_kind_wins_and_is_checked(tmp_path):
    path = zipped(tmp_path, ["model.py"])
    assert submission_kind(path, "results") == "results"
    with pytest.raises(ServiceError):
        submission_kind(path, "weights")
