"""The organizer API for a baseline measurement and the audit log (what only ``baseline measure``
and ``audit`` on the server did), and the CLI over it with ``--server``: on the session's real
deployment (SQLite and PostgreSQL), on a competition of this module's own whose validation phase
holds images and whose test phase holds none.

The deployment's worker is a CPU worker on queue ``gpu`` and the bundle's phases compare GPU
runtimes, so a measurement without ``force`` is refused by the worker before any timing: fast to
follow to its end. A forced one would time the baseline on the CPU for minutes; none is queued here.
"""

import json
import time

import pytest
import yaml

from bench.stack import BUNDLE

SLUG = "remote-measure"
VALIDATION, TEST = f"{SLUG}/validation", f"{SLUG}/test"
ADMIN = "/api/v1/admin"
MEASURE = f"{ADMIN}/phases/{VALIDATION}/baseline/measure"
AUDIT = f"{ADMIN}/audit"
ENDPOINTS = [("POST", MEASURE, {}), ("GET", AUDIT, None)]


@pytest.fixture(scope="module")
def setup(stack, tmp_path_factory):
    bundle = yaml.safe_load(BUNDLE.read_text()) | {"slug": SLUG, "title": "Measured remotely"}
    path = tmp_path_factory.mktemp("admin-measure") / "bundle.yaml"
    path.write_text(yaml.safe_dump(bundle))
    stack.cli("competition", "create", str(path))
    stack.cli("dataset", "import", "--phase", VALIDATION, "--hr", str(stack.root / "hr"))
    token = json.loads(stack.cli("organizer", "create", "measure-ops", "--json").stdout)["token"]
    return stack, token


def ended(client, version: int, timeout_s: float = 60) -> dict:
    """The measurement's record in the phase's baseline history, once it has ended."""
    deadline = time.monotonic() + timeout_s
    while True:
        history = client.get(f"{ADMIN}/phases/{VALIDATION}/baseline").raise_for_status().json()
        row = next(r for r in history if r["version"] == version)
        if row["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return row
        time.sleep(0.2)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_only_organizer_tokens_open_them(setup, method, path, body):
    stack, _token = setup
    with stack.client() as client:
        assert client.request(method, path, json=body).status_code == 403  # the team's token
        client.headers.pop("Authorization")
        assert client.request(method, path, json=body).status_code == 401


def test_a_measurement_queued_over_the_api_shows_in_the_history_and_a_cpu_worker_refuses_it(setup):
    stack, token = setup
    with stack.client(token) as client:
        queued = client.post(MEASURE, json={})
        assert queued.status_code == 202, queued.text
        body = queued.json()
        assert (body["source"], body["status"], body["actor"]) == ("measure", "queued", "organizer:measure-ops")

        row = ended(client, body["version"])
        assert row["status"] == "refused" and row["worker"].startswith("worker@"), row
        assert "this worker's device is a CPU" in row["reason"] and "the API's `force`" in row["reason"]
        assert client.get(f"/api/v1/phases/{VALIDATION}").json()["baseline_runtime"] == 0.13

        empty = client.post(f"{ADMIN}/phases/{TEST}/baseline/measure", json={})
        assert empty.status_code == 409 and "has no LR inputs" in empty.json()["detail"]
        assert client.post(f"{ADMIN}/phases/{SLUG}/nope/baseline/measure", json={}).status_code == 404
        assert client.post(MEASURE, json={"force": "maybe"}).status_code == 422
    history = [(r["source"], r["status"]) for r in json.loads(stack.cli("baseline", "history", VALIDATION,
                                                                        "--json").stdout)]
    assert history[-1] == ("measure", "refused")


def test_the_audit_log_over_the_api(setup):
    stack, token = setup
    with stack.client(token) as client:
        made = client.post(f"{ADMIN}/phases/{VALIDATION}/baseline", json={"params": 1_000_000})
        assert made.status_code == 200, made.text
        neutral = client.post(f"{ADMIN}/phases/{VALIDATION}/baseline", json={})
        assert neutral.status_code == 400 and neutral.json()["detail"].startswith("give at least one figure: the PSNR")

        phase_log = client.get(AUDIT, params={"target": VALIDATION}).json()
        assert (phase_log[0]["action"], phase_log[0]["actor"]) == ("baseline.set", "organizer:measure-ops")
        assert phase_log[0]["details"]["changed"]["params"][1] == 1_000_000
        assert {e["target"] for e in phase_log} == {VALIDATION}

        log = client.get(AUDIT, params={"target": SLUG, "limit": 100}).json()
        assert {"competition.create", "dataset.import", "baseline.set"} <= {e["action"] for e in log}
        assert all(e["target"] == SLUG or e["target"].startswith(f"{SLUG}/") for e in log)
        assert [e["id"] for e in log] == sorted((e["id"] for e in log), reverse=True)
        assert client.get(AUDIT, params={"target": SLUG, "limit": 1}).json() == log[:1]
        assert client.get(AUDIT, params={"limit": 0}).status_code == 422
    assert json.loads(stack.cli("audit", SLUG, "--limit", "100", "--json").stdout) == log


def test_the_cli_measures_and_reads_the_audit_log_on_a_remote_deployment(setup):
    stack, token = setup
    remote = ("--server", stack.url, "--token", token)

    refused = stack.cli("baseline", "measure", "--phase", VALIDATION, "--wait", "--timeout", "120", *remote,
                        check=False)
    said = " ".join(refused.stderr.split())
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "refused" in said and "device is a CPU" in said and "--force" in said
    no_inputs = stack.cli("baseline", "measure", "--phase", TEST, *remote, check=False)
    assert no_inputs.returncode == 1 and "(409)" in no_inputs.stderr and "no LR inputs" in no_inputs.stderr

    stack.cli("baseline", "set", TEST, "--psnr", "30.5", *remote)
    newest = json.loads(stack.cli("audit", SLUG, "--limit", "1", *remote, "--json").stdout)
    assert [(e["action"], e["target"], e["actor"]) for e in newest] == [
        ("baseline.set", TEST, "organizer:measure-ops")]
    assert "organizer:measure-ops" in stack.cli("audit", TEST, *remote).stdout
