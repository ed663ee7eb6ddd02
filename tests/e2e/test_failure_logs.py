"""What a failure shows, through the real API and worker (issue 13.2).

A team's own failure: a one-line reason, and the capped log of its code (its prints and its
traceback) on the submission, without the worker's paths. A platform failure: the team reads
only a reason; the organizers see the traceback (admin API, ``srchallenge submission show``).
"""

import json
import sys
import textwrap

import pytest

from bench.stack import zip_bytes

FAILING_MODEL = textwrap.dedent("""
    import torch

    print("hello from team alpha, torch at", torch.__file__)


    def check(channels):
        raise ValueError(f"{channels} channels is not a supported configuration")


    def build_model():
        check(7)
""").encode()


@pytest.fixture(scope="module")
def organizer(stack) -> str:
    return stack.cli("organizer", "create", "log-reader").stdout.strip().splitlines()[-1]


def admin_view(stack, organizer: str, public_id: str) -> dict:
    with stack.client(organizer) as client:
        return client.get(f"/api/v1/admin/submissions/{public_id}").raise_for_status().json()


def test_a_failing_models_prints_and_traceback_reach_the_team(stack, organizer):
    response = stack.upload(zip_bytes({"model.py": FAILING_MODEL}), kind="code")
    assert response.status_code == 202, response.text
    body = stack.wait_scored(response.json()["id"], timeout_s=300)
    assert body["status"] == "failed"
    assert "\n" not in body["reason"] and "ValueError: 7 channels is not a supported configuration" in body["reason"]
    log = body["log"]
    assert "hello from team alpha, torch at <python>/" in log
    assert 'model.py", line 8, in check' in log and 'line 12, in build_model' in log
    for host_path in (sys.prefix, str(stack.data_dir), str(stack.root)):
        assert host_path not in json.dumps(body)
    assert "export_runner" not in log, "the platform's own frames are not the team's traceback"
    run = admin_view(stack, organizer, body["id"])["runs"][-1]
    assert run["log"] == log and run["traceback"] is None


def test_a_platform_failure_shows_the_team_a_reason_and_the_organizers_the_traceback(stack, organizer):
    hr_dir = stack.data_dir / "private" / "aim2019" / "validation" / "hr"
    hidden = hr_dir.with_name("hr-moved-away")
    hr_dir.rename(hidden)
    try:
        body = stack.submit_and_wait(stack.results_zip())
    finally:
        hidden.rename(hr_dir)
    assert body["status"] == "failed" and "not your fault" in body["reason"]
    assert body["log"] == "" and "Traceback" not in json.dumps(body) and str(stack.data_dir) not in json.dumps(body)
    run = admin_view(stack, organizer, body["id"])["runs"][-1]
    assert "Traceback (most recent call last)" in run["traceback"] and "no hidden HR images" in run["traceback"]
    shown = stack.cli("submission", "show", body["id"]).stdout
    assert "platform traceback" in shown and "no hidden HR images" in shown
    assert stack.submit_and_wait(stack.results_zip())["status"] == "scored"
