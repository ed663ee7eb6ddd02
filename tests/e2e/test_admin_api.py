"""The organizer API on the shared real deployment: only organizer tokens open it, and the CLI
drives it remotely with ``--server URL --token T``."""

import json
import time

import pytest

ENDPOINTS = [
    ("GET", "/api/v1/admin/status", None),
    ("GET", "/api/v1/admin/submissions", None),
    ("GET", "/api/v1/admin/runs?id=1", None),
    ("POST", "/api/v1/admin/rescore", {"team": "alpha"}),
    ("POST", "/api/v1/admin/submissions/nope/cancel", {"reason": "x"}),
]


@pytest.fixture(scope="module")
def organizer(stack) -> str:
    return stack.cli("organizer", "create", "ops").stdout.strip().splitlines()[-1]


def remote(stack, organizer: str, *args: str, code: int = 0):
    result = stack.cli(*args, "--server", stack.url, "--token", organizer, "--json", check=False)
    assert result.returncode == code, f"{args}: {result.stdout}{result.stderr}"
    return json.loads(result.stdout) if code == 0 else " ".join(result.stderr.split())


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_anonymous_and_team_callers_are_refused(stack, organizer, method, path, body):
    with stack.client() as client:
        client.headers.pop("Authorization")
        assert client.request(method, path, json=body).status_code == 401
        forged = client.request(method, path, json=body, headers={"Authorization": "Bearer sro_forged"})
        assert forged.status_code == 401
        team = client.request(method, path, json=body, headers={"Authorization": f"Bearer {stack.token}"})
        assert team.status_code == 403 and "team token" in team.json()["detail"]


def test_organizer_token_is_refused_where_a_team_token_is_expected(stack, organizer):
    with stack.client(organizer) as client:
        assert client.get("/api/v1/submissions").status_code == 401
    assert stack.upload(stack.results_zip(), token=organizer).status_code == 401


def test_revoked_organizer_token_stops_working(stack):
    token = stack.cli("organizer", "create", "temp").stdout.strip().splitlines()[-1]
    with stack.client(token) as client:
        assert client.get("/api/v1/admin/status").status_code == 200
        stack.cli("organizer", "revoke", "temp")
        assert client.get("/api/v1/admin/status").status_code == 401


def test_remote_rescore_waits_and_records_the_organizer(stack, organizer):
    body = stack.submit_and_wait(stack.results_zip())
    items = remote(stack, organizer, "rescore", "--submission", body["id"], "--wait")
    run = items[0]["run"]
    assert (run["status"], run["attempt"], run["requested_by"]) == ("scored", 2, "organizer:ops")
    assert run["figures"]["psnr"] == pytest.approx(body["psnr"])
    shown = remote(stack, organizer, "submission", "show", body["id"])
    assert [r["requested_by"] for r in shown["runs"]] == ["team:alpha", "organizer:ops"]
    listed = remote(stack, organizer, "submission", "list", "--team", "alpha", "--status", "scored")
    assert body["id"] in {s["id"] for s in listed}
    report = remote(stack, organizer, "status")
    assert report["broker"] == "redis" and {q["name"] for q in report["queues"]} == {"scoring", "gpu"}


def test_remote_errors_are_one_clear_line(stack, organizer):
    assert "no team 'nobody'" in remote(stack, organizer, "rescore", "--team", "nobody", code=1)
    assert "(404): no submission 'nope'" in remote(stack, organizer, "submission", "show", "nope", code=1)
    assert "unknown or revoked organizer token" in " ".join(stack.cli(
        "status", "--server", stack.url, "--token", "sro_forged", check=False).stderr.split())


def test_cancel_over_the_api_drops_the_queued_run(stack, organizer):
    stack.stop("worker")
    try:
        response = stack.upload(stack.results_zip())
        assert response.status_code == 202
        public_id = response.json()["id"]
        with stack.client(organizer) as client:
            cancelled = client.post(f"/api/v1/admin/submissions/{public_id}/cancel", json={"reason": "test entry"})
        assert cancelled.status_code == 200, cancelled.text
        assert (cancelled.json()["status"], [r["status"] for r in cancelled.json()["runs"]]) == (
            "cancelled", ["cancelled"])
        run_id = cancelled.json()["runs"][0]["id"]
    finally:
        stack.start_worker()
    skipped = f"no run left queued for message {run_id}"
    deadline = time.monotonic() + 120
    while skipped not in (stack.root / "worker.log").read_text():
        assert time.monotonic() < deadline, "the worker never received the cancelled run's message"
        time.sleep(0.2)
    with stack.client() as client:
        seen = client.get(f"/api/v1/submissions/{public_id}").json()
    assert (seen["status"], seen["reason"], seen["psnr"]) == ("cancelled", "test entry", None)
