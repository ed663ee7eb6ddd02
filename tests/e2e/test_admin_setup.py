"""The organizer API for what only the CLI did (it writes the local database): a phase's baseline
set, listed and restored, its dates, an edited bundle applied. On the session's real deployment
(SQLite and PostgreSQL), on a competition of this module's own, so no other test's figures move.
"""

import json
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from bench.stack import BUNDLE

SLUG = "remote-setup"
PHASE = f"{SLUG}/validation"
BASELINE = f"/api/v1/admin/phases/{PHASE}/baseline"
SCHEDULE = f"/api/v1/admin/phases/{PHASE}/schedule"
BUNDLE_URL = f"/api/v1/admin/competitions/{SLUG}/bundle"
ENDPOINTS = [("GET", BASELINE, None), ("POST", BASELINE, {"psnr": 30}), ("POST", f"{BASELINE}/revert", {}),
             ("PATCH", SCHEDULE, {"closes_at": None}), ("PUT", BUNDLE_URL, {})]


@pytest.fixture(scope="module")
def setup(stack, tmp_path_factory):
    """The module's competition (its phases hold images), an organizer's token, and the bundle as last
    applied (a test that applies an edit keeps it there, so the tests hold in any order)."""
    bundle = yaml.safe_load(BUNDLE.read_text()) | {"slug": SLUG, "title": "Set up remotely"}
    path = tmp_path_factory.mktemp("admin-setup") / "bundle.yaml"
    path.write_text(yaml.safe_dump(bundle))
    stack.cli("competition", "create", str(path))
    for phase in ("validation", "test"):
        stack.cli("dataset", "import", "--phase", f"{SLUG}/{phase}", "--hr", str(stack.root / "hr"))
    token = json.loads(stack.cli("organizer", "create", "setup-ops", "--json").stdout)["token"]
    return stack, token, bundle


def audit(stack, target: str) -> list[dict]:
    return json.loads(stack.cli("audit", target, "--json").stdout)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_only_organizer_tokens_open_the_setup_routes(setup, method, path, body):
    stack, _token, _bundle = setup
    with stack.client() as client:
        assert client.request(method, path, json=body).status_code == 403  # the team's token
        client.headers.pop("Authorization")
        assert client.request(method, path, json=body).status_code == 401


def test_baseline_set_history_and_revert_over_the_api(setup):
    stack, token, _bundle = setup
    with stack.client(token) as client:
        made = client.post(BASELINE, json={"psnr": 31.25, "params": 1_000_000})
        assert made.status_code == 200, made.text
        assert (made.json()["source"], made.json()["psnr"], made.json()["actor"]) == (
            "set", 31.25, "organizer:setup-ops")
        assert client.get(f"/api/v1/phases/{PHASE}").json()["baseline_psnr"] == 31.25

        wrong_device = client.post(BASELINE, json={"runtime": 3.155, "device": "CPU: laptop"})
        assert wrong_device.status_code == 409
        assert "compares runtimes measured on a GPU" in wrong_device.json()["detail"]
        assert "the API's `force`" in wrong_device.json()["detail"]
        both = client.post(BASELINE, json={"psnr": 30, "psnr_not_measured": "unknown"})
        assert both.status_code == 400 and "not both" in both.json()["detail"]
        assert client.post(BASELINE, json={"psnr": -3}).status_code == 400
        assert client.post(BASELINE, json={}).status_code == 400

        history = client.get(BASELINE).json()
        assert [(v["source"], v["psnr"]) for v in history] == [("bundle", 29.0), ("set", 31.25)]
        missing = client.post(f"{BASELINE}/revert", json={"to": 999_999})
        assert missing.status_code == 404 and "no baseline version #999999" in missing.json()["detail"]
        back = client.post(f"{BASELINE}/revert", json={})
        assert back.status_code == 200 and back.json()["psnr"] == 29.0 and back.json()["source"] == "revert"
        assert client.get(f"/api/v1/phases/{PHASE}").json()["baseline_psnr"] == 29.0
        assert client.get(f"/api/v1/admin/phases/{SLUG}/nope/baseline").status_code == 404

    events = [e for e in audit(stack, PHASE) if e["action"].startswith("baseline.")]
    assert [(e["action"], e["actor"]) for e in events] == [("baseline.revert", "organizer:setup-ops"),
                                                          ("baseline.set", "organizer:setup-ops")]
    assert events[1]["details"]["changed"] == {"psnr": [29.0, 31.25], "params": [1517571, 1_000_000]}


def test_phase_schedule_over_the_api(setup):
    stack, token, _bundle = setup
    now = datetime.now(timezone.utc)
    try:
        with stack.client(token) as client:
            closed = client.patch(SCHEDULE, json={"closes_at": (now - timedelta(hours=2)).isoformat()})
            assert closed.status_code == 200, closed.text
            assert closed.json()["state"].startswith(f"phase {PHASE} closed at")
            late = stack.upload(stack.results_zip(), phase=PHASE)
            assert late.status_code == 403 and "closed at" in late.json()["detail"]

            naive = client.patch(SCHEDULE, json={"opens_at": "2026-12-01T00:00:00"})
            assert naive.status_code == 422 and "timezone" in naive.text
            backwards = client.patch(SCHEDULE, json={"opens_at": now.isoformat()})
            assert backwards.status_code == 400 and "before it opens" in backwards.json()["detail"]
            assert client.patch(SCHEDULE, json={}).status_code == 400

            reopened = client.patch(SCHEDULE, json={"closes_at": None})
            assert reopened.status_code == 200 and reopened.json()["closes_at"] is None
            assert reopened.json()["state"] == "open"
        assert stack.upload(stack.results_zip(), phase=PHASE).status_code == 202
        events = [e for e in audit(stack, PHASE) if e["action"] == "phase.schedule"]
        assert [e["actor"] for e in events[:2]] == ["organizer:setup-ops"] * 2
        assert events[0]["details"]["after"] == {"opens_at": None, "closes_at": None}
    finally:
        stack.cli("phase", "schedule", PHASE, "--opens", "none", "--closes", "none")


def test_competition_update_over_the_api(setup):
    stack, token, bundle = setup
    edited = json.loads(json.dumps(bundle, default=str))
    edited["phases"][0]["title"] = "Validation, set up remotely"
    before = bundle["phases"][0]["title"]
    with stack.client(token) as client:
        dry = client.put(BUNDLE_URL, params={"dry_run": True}, json=edited)
        assert dry.status_code == 200, dry.text
        assert dry.json() == {"competition": SLUG, "dry_run": True, "changes": [
            f"phase validation: title {before!r} → 'Validation, set up remotely'"]}
        assert client.get(f"/api/v1/phases/{PHASE}").json()["title"] == before

        applied = client.put(BUNDLE_URL, json=edited)
        assert applied.status_code == 200 and applied.json()["changes"] == dry.json()["changes"]
        assert client.get(f"/api/v1/phases/{PHASE}").json()["title"] == "Validation, set up remotely"
        assert client.put(BUNDLE_URL, json=edited).json()["changes"] == []
        bundle.update(edited)

        orphaning = json.loads(json.dumps(edited)) | {"phases": edited["phases"][:1]}
        refused = client.put(BUNDLE_URL, json=orphaning)
        assert refused.status_code == 409 and "phase test holds" in refused.json()["detail"]
        assert "nothing changed" in refused.json()["detail"]
        other = client.put("/api/v1/admin/competitions/aim2019/bundle", json=edited)
        assert other.status_code == 422 and "is for competition 'remote-setup'" in other.json()["detail"]
        malformed = client.put(BUNDLE_URL, json=edited | {"scale": "four"})
        assert malformed.status_code == 422 and "scale" in malformed.text
        unknown = client.put("/api/v1/admin/competitions/nope/bundle", json=edited | {"slug": "nope"})
        assert unknown.status_code == 404 and "no competition 'nope'" in unknown.json()["detail"]

    event = audit(stack, SLUG)[0]
    assert (event["action"], event["actor"]) == ("competition.update", "organizer:setup-ops")
    assert event["details"]["changes"] == applied.json()["changes"]


def test_the_cli_drives_them_on_a_remote_deployment(setup):
    """`baseline`, `phase schedule` and `competition update` with --server URL --token T go through
    these routes: the audit log names the organizer, where a local run names the login (cli:…)."""
    stack, token, bundle = setup
    phase = f"{SLUG}/test"

    def remote(*args: str, code: int = 0):
        result = stack.cli(*args, "--server", stack.url, "--token", token, "--json", check=False)
        assert result.returncode == code, f"{args}: {result.stdout}{result.stderr}"
        return json.loads(result.stdout) if code == 0 else " ".join(result.stderr.split())

    assert remote("baseline", "set", phase, "--psnr-not-measured", "no MSRResNet for these")["psnr"] is None
    assert [v["source"] for v in remote("baseline", "history", phase)] == ["bundle", "set"]
    assert remote("baseline", "revert", phase)["psnr"] == 28.7
    assert "compares runtimes measured on a GPU" in remote("baseline", "set", phase, "--runtime", "2",
                                                           "--device", "CPU: laptop", code=1)
    assert "(404): no phase remote-setup/nope" in remote("baseline", "history", f"{SLUG}/nope", code=1)
    assert "phase must be written COMPETITION/PHASE" in remote("baseline", "history", SLUG, code=1)

    closes = (datetime.now(timezone.utc) + timedelta(days=5)).replace(microsecond=0)
    shown = remote("phase", "schedule", phase, "--closes", closes.isoformat())
    assert shown["closes_at"].startswith(f"{closes:%Y-%m-%dT%H:%M:%S}") and shown["state"].startswith("open, 4 days")
    assert remote("phase", "schedule", phase, "--closes", "none")["closes_at"] is None

    edited = json.loads(json.dumps(bundle, default=str))
    edited["phases"][1]["title"] = "Test, set up remotely (again)"
    path = stack.root / "remote-setup-edited.yaml"
    path.write_text(yaml.safe_dump(edited))
    assert remote("competition", "update", str(path), "--dry-run")["changes"] == [
        f"phase test: title {bundle['phases'][1]['title']!r} → 'Test, set up remotely (again)'"]
    assert remote("competition", "update", str(path))["dry_run"] is False
    bundle.update(edited)

    newest = [(e["action"], e["actor"]) for e in audit(stack, SLUG)[:5]]
    assert newest == [(action, "organizer:setup-ops") for action in (
        "competition.update", "phase.schedule", "phase.schedule", "baseline.revert", "baseline.set")]
