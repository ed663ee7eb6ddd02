"""What a team sends beside its zip: self-reported form fields and a code zip's submission.yaml."""

import io
import zipfile

import pytest

from server.services.errors import Unprocessable
from server.services.submissions import parse_self_reported, tracks_from_submission_yaml
from tests.scoring.test_team_yaml import alias_bomb


@pytest.mark.parametrize("field, value", [
    ("params", "-5"), ("params", "1" * 30), ("params", "1.5e6"),
    ("runtime", "-inf"), ("runtime", "inf"), ("runtime", "nan"), ("runtime", "-0.1"), ("runtime", "0"),
    ("runtime", "1e999"), ("runtime_baseline", "-1"), ("runtime_baseline", "99999"),
])
def test_impossible_self_reported_figures_are_a_422_naming_the_field(field, value):
    with pytest.raises(Unprocessable, match=field) as refused:
        parse_self_reported({field: value})
    assert refused.value.status_code == 422


def test_believable_figures_are_kept():
    assert parse_self_reported({"params": "1,517,571", "runtime": "0.05", "runtime_baseline": "45 ms"}) == {
        "self_params": 1517571, "self_runtime": 0.05, "self_runtime_baseline": 0.045}
    assert parse_self_reported({"params": "0"}) == {"self_params": 0}, "no learned parameters (bicubic)"


@pytest.mark.parametrize("yaml_text, reason", [(alias_bomb(6), "aliases"), ("tracks: " + "[" * 20_000, "nest")],
                         ids=["alias bomb", "deep nesting"])
def test_a_hostile_yaml_in_a_code_zip_is_a_422(tmp_path, yaml_text, reason):
    """Deep nesting was a RecursionError: a 500 for an upload without a tracks field."""
    path = tmp_path / "code.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("model.py", "def build_model(): ...\n")
        zf.writestr("submission.yaml", yaml_text)
    with pytest.raises(Unprocessable, match=reason):
        tracks_from_submission_yaml(path)


def test_a_plain_yaml_gives_its_tracks(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("submission.yaml", "tracks: [params, psnr]\n")
    (tmp_path / "code.zip").write_bytes(buffer.getvalue())
    assert tracks_from_submission_yaml(tmp_path / "code.zip") == "params,psnr"
