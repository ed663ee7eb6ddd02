"""submission.yaml as the worker reads it: the same alias-refusing loader as the API."""

import pytest

from scoring.errors import SubmissionError
from tests.scoring.test_team_yaml import alias_bomb
from worker.code_eval import read_metadata


def test_an_alias_bomb_in_submission_yaml_fails_with_a_reason(tmp_path):
    (tmp_path / "submission.yaml").write_text(alias_bomb(6) + "data_range: 255\ndescription: *a6\n")
    with pytest.raises(SubmissionError, match="aliases"):
        read_metadata(tmp_path)


def test_plain_metadata_is_read(tmp_path):
    (tmp_path / "submission.yaml").write_text("data_range: 255\ndescription: a small net\n")
    assert read_metadata(tmp_path)["description"] == "a small net"
