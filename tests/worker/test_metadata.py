"""submission.yaml as the worker reads it: the same alias-refusing loader as the API."""

import pytest

from scoring.errors import SubmissionError
from tests.scoring.test_team_yaml import alias_bomb
from worker.code_eval import read_metadata
from worker.evaluate import self_reported_from_readme


def test_an_alias_bomb_in_submission_yaml_fails_with_a_reason(tmp_path):
    (tmp_path / "submission.yaml").write_text(alias_bomb(6) + "data_range: 255\ndescription: *a6\n")
    with pytest.raises(SubmissionError, match="aliases"):
        read_metadata(tmp_path)


def test_plain_metadata_is_read(tmp_path):
    (tmp_path / "submission.yaml").write_text("data_range: 255\ndescription: a small net\n")
    assert read_metadata(tmp_path)["description"] == "a small net"


def test_deeply_nested_submission_yaml_fails_with_a_reason(tmp_path):
    """It raised RecursionError in the worker: the platform's failure, the team's quota slot back."""
    (tmp_path / "submission.yaml").write_text("description: " + "[" * 20_000)
    with pytest.raises(SubmissionError, match="nest more than 32 levels"):
        read_metadata(tmp_path)


def test_a_readmes_gpu_name_is_cut_to_what_is_stored():
    """Past 100 characters PostgreSQL refused the save (the platform's failure after its retries)."""
    reported = self_reported_from_readme("Runtime per image [s] : 0.1\nGPU : " + "RTX " * 100 + "\n")
    assert reported["gpu"] == ("RTX " * 25)[:100] and reported["self_runtime"] == 0.1
