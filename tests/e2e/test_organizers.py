"""An organizer's workflows on a running deployment (the session's stack, SQLite and PostgreSQL):
a second competition on their own photos, its baseline set, measured, audited and restored, and
its phases' dates enforced at upload.

The module adds its own competition (as an organizer adds one to a running deployment), so it
changes no figure the other end-to-end tests read.
"""

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import yaml

from bench.stack import BUNDLE, png_bytes

SLUG = "own-photos"
VALIDATION, TEST = f"{SLUG}/validation", f"{SLUG}/test"


@pytest.fixture(scope="module")
def org(stack, tmp_path_factory):
    folder = tmp_path_factory.mktemp("organizers")
    bundle = yaml.safe_load(BUNDLE.read_text())
    bundle["slug"], bundle["title"] = SLUG, "Our own photos"
    (folder / "bundle.yaml").write_text(yaml.safe_dump(bundle))
    stack.cli("competition", "create", str(folder / "bundle.yaml"))
    stack.bundle, stack.bundle_dir = bundle, folder
    for phase in (VALIDATION, TEST):
        stack.cli("dataset", "import", "--phase", phase, "--hr", str(stack.root / "hr"))
    return stack


def cli_json(stack, *args: str):
    return json.loads(stack.cli(*args, "--json").stdout)


def board(stack, phase: str, track: str) -> list[dict]:
    with stack.client() as client:
        body = client.get(f"/api/v1/phases/{phase}/leaderboard", params={"track": track}).raise_for_status().json()
    return body["tracks"][0]["rows"]


def near(images: dict[str, np.ndarray], amplitude: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {k: np.clip(v.astype(int) + rng.integers(-amplitude, amplitude + 1, v.shape), 0, 255).astype(np.uint8)
            for k, v in images.items()}


def test_baseline_set_reranks_keeps_history_audits_and_goes_back(org):
    # a 0-parameter entry at ~40 dB on these photos: far above the bundle's DIV2K 29.00 dB
    body = org.submit_and_wait(org.results_zip(near(org.hr)), phase=VALIDATION, params="0", runtime="0.01",
                               runtime_baseline="0.1")
    assert body["status"] == "scored" and body["psnr"] > 35
    fidelity = board(org, VALIDATION, "psnr")
    assert [r["team"] for r in fidelity if r["rank"]] == ["alpha", "Baseline"]

    org.cli("baseline", "set", VALIDATION, "--psnr", "45.5")
    fidelity = board(org, VALIDATION, "psnr")
    assert [(r["team"], r["rank"]) for r in fidelity] == [("Baseline", 1), ("alpha", None)]
    assert "below the baseline's 45.50 dB" in fidelity[1]["unranked_reason"]

    org.cli("baseline", "set", VALIDATION, "--psnr-not-measured", "no trained MSRResNet for these photos")
    fidelity = board(org, VALIDATION, "psnr")
    assert [(r["team"], r["rank"]) for r in fidelity] == [("alpha", 1), ("Baseline", None)]
    assert fidelity[1]["psnr"] is None and "no trained MSRResNet" in fidelity[1]["unranked_reason"]
    with org.client() as client:
        page = client.get(f"/competitions/{SLUG}", params={"phase": "validation"}).text
    assert "PSNR not measured on these images (no trained MSRResNet for these photos)" in page

    refused = org.cli("baseline", "set", VALIDATION, "--runtime", "3.155", "--device", "CPU: laptop", check=False)
    assert refused.returncode == 1 and "--force" in refused.stderr

    history = cli_json(org, "baseline", "history", VALIDATION)
    assert [(h["source"], h["psnr"]) for h in history] == [("bundle", 29.0), ("set", 45.5), ("set", None)]
    org.cli("baseline", "revert", VALIDATION, "--to", str(history[1]["version"]))
    assert [(r["team"], r["rank"]) for r in board(org, VALIDATION, "psnr")] == [("Baseline", 1), ("alpha", None)]
    org.cli("baseline", "revert", VALIDATION, "--to", str(history[0]["version"]))
    assert [r["team"] for r in board(org, VALIDATION, "psnr") if r["rank"]] == ["alpha", "Baseline"]

    events = [e for e in cli_json(org, "audit", VALIDATION) if e["action"].startswith("baseline.")]
    assert [e["action"] for e in events] == ["baseline.revert", "baseline.revert", "baseline.set", "baseline.set"]
    assert all(e["actor"].startswith("cli") for e in events)
    assert events[3]["details"]["changed"]["psnr"] == [29.0, 45.5]
    assert any(e["action"] == "competition.create" for e in cli_json(org, "audit", SLUG))


def test_baseline_measure_refuses_a_cpu_worker_for_a_gpu_phase_unless_forced(org):
    refused = org.cli("baseline", "measure", "--phase", TEST, "--wait", "--timeout", "120", check=False)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "refused" in refused.stderr and "CPU" in refused.stderr and "--force" in refused.stderr
    shown = cli_json(org, "competition", "show", SLUG)
    test_phase = next(p for p in shown["phases"] if p["slug"] == "test")
    assert test_phase["baseline_runtime"] == 0.13 and test_phase["baseline_runtime_device"] is None

    measured = cli_json(org, "baseline", "measure", "--phase", TEST, "--force", "--wait", "--timeout", "300")
    assert measured["status"] == "done" and measured["runtime_device"].startswith("CPU")
    assert "best of 3 trials" in measured["runtime_note"] and measured["worker"].startswith("worker@")
    shown = cli_json(org, "competition", "show", SLUG)
    test_phase = next(p for p in shown["phases"] if p["slug"] == "test")
    assert test_phase["baseline_runtime"] == measured["runtime"] != 0.13
    assert cli_json(org, "status")["baseline_measurements"] == []
    history = cli_json(org, "baseline", "history", TEST)
    assert [(h["source"], h["status"]) for h in history] == [("bundle", "done"), ("measure", "refused"),
                                                             ("measure", "done")]
    org.cli("baseline", "revert", TEST)  # the GPU figure is back
    assert cli_json(org, "baseline", "history", TEST)[-1]["runtime"] == 0.13


def test_phase_dates_are_enforced_at_upload_and_shown(org):
    now = datetime.now(timezone.utc)
    try:
        org.cli("phase", "schedule", VALIDATION, "--closes", (now - timedelta(hours=2)).isoformat())
        late = org.upload(org.results_zip(), phase=VALIDATION)
        assert late.status_code == 403 and "closed at" in late.json()["detail"] and "2 hours ago" in late.json()["detail"]
        opens = (now + timedelta(days=3)).replace(microsecond=0)
        org.cli("phase", "schedule", VALIDATION, "--opens", opens.isoformat(), "--closes", "none")
        early = org.upload(org.results_zip(), phase=VALIDATION)
        assert early.status_code == 403
        assert early.json()["detail"].startswith(f"phase {VALIDATION} opens at {opens:%Y-%m-%dT%H:%M:%S}Z (in 2 days 23 hours")
        naive = org.cli("phase", "schedule", VALIDATION, "--opens", "2026-12-01T00:00:00", check=False)
        assert naive.returncode == 1 and "time zone" in naive.stderr
        org.cli("phase", "schedule", VALIDATION, "--opens", "none", "--closes", (now + timedelta(days=2)).isoformat())
        with org.client() as client:
            page = client.get(f"/competitions/{SLUG}", params={"phase": "validation"}).text
            detail = client.get(f"/api/v1/phases/{VALIDATION}").json()
        assert "Closes" in page and "1 day 23 hours left" in page
        assert detail["is_open"] and detail["closes_at"].startswith(f"{now + timedelta(days=2):%Y-%m-%dT%H}")
        assert org.upload(org.results_zip(), phase=VALIDATION).status_code == 202
        assert [e["action"] for e in cli_json(org, "audit", VALIDATION)][:3] == ["phase.schedule"] * 3
    finally:
        org.cli("phase", "schedule", VALIDATION, "--opens", "none", "--closes", "none")


def test_competition_update_applies_an_edited_bundle_and_refuses_orphaning_data(org):
    bundle = json.loads(json.dumps(org.bundle))
    bundle["phases"] = bundle["phases"][:1]  # the test phase holds images
    path = org.bundle_dir / "edited.yaml"
    path.write_text(yaml.safe_dump(bundle))
    refused = org.cli("competition", "update", str(path), check=False)
    assert refused.returncode == 1 and "phase test holds" in refused.stderr and "nothing changed" in refused.stderr

    bundle = json.loads(json.dumps(org.bundle))
    bundle["phases"][0]["title"] = "Validation (our photos)"
    bundle["phases"][0]["max_submissions_per_day"] = 50
    path.write_text(yaml.safe_dump(bundle))
    changed = cli_json(org, "competition", "update", str(path))["changes"]
    assert changed == ["phase validation: title 'Validation phase' → 'Validation (our photos)'",
                       "phase validation: max_submissions_per_day None → 50"]
    assert cli_json(org, "competition", "update", str(path))["changes"] == []
    with org.client() as client:
        assert client.get(f"/api/v1/phases/{VALIDATION}").json()["title"] == "Validation (our photos)"
    event = cli_json(org, "audit", SLUG)[0]
    assert event["action"] == "competition.update" and event["details"]["changes"] == changed


def test_a_reimport_is_versioned_marks_old_figures_and_rescore_all_follows_it(org):
    bundle = dict(org.bundle, slug="reimport", title="Re-imported photos")
    (org.bundle_dir / "reimport.yaml").write_text(yaml.safe_dump(bundle))
    org.cli("competition", "create", str(org.bundle_dir / "reimport.yaml"))
    phase, hr = "reimport/validation", dict(org.hr)

    def import_set(images: dict[str, np.ndarray], name: str) -> dict:
        folder = org.bundle_dir / name
        folder.mkdir()
        for key, image in images.items():
            (folder / f"{key}.png").write_bytes(png_bytes(image))
        return cli_json(org, "dataset", "import", "--phase", phase, "--hr", str(folder))

    assert import_set(hr, "v1")["version"] == 1
    first = org.submit_and_wait(org.results_zip(near(hr)), phase=phase, params="0", runtime="0.01")
    assert first["status"] == "scored"

    v2 = {k: v for k, v in hr.items() if k != "0801"}
    v2["0802"] = np.ascontiguousarray(hr["0802"][::-1])  # replaced by another image of the same size
    summary = import_set(v2, "v2")
    assert (summary["version"], summary["added"], summary["removed"], summary["replaced"]) == (
        2, [], ["0801"], ["0802"])
    row = next(r for r in board(org, phase, "psnr") if r["team"] == "alpha")
    assert row["psnr"] == first["psnr"] and row["stale"].startswith("scored on version 1 of the hidden set, now version 2")
    with org.client() as client:
        assert "awaiting a rescore" in client.get("/competitions/reimport").text
    rescored = json.loads(org.cli("rescore", "--phase", phase, "--all", "--wait", "--json").stdout)
    assert [item["run"]["status"] for item in rescored] == ["scored"]  # the retired 0801.png is ignored
    row = next(r for r in board(org, phase, "psnr") if r["team"] == "alpha")
    assert row["stale"] is None and row["psnr"] < first["psnr"]  # 0802 no longer matches

    v3 = dict(v2, **{"0805": hr["0801"]})
    assert import_set(v3, "v3")["added"] == ["0805"]
    failed = org.cli("rescore", "--phase", phase, "--all", "--wait", check=False)
    assert failed.returncode == 1 and "Missing 1 of 4 images: 0805.png" in " ".join(failed.stderr.split())
    stale = next(r for r in board(org, phase, "psnr") if r["team"] == "alpha")
    assert stale["psnr"] == row["psnr"] and "version 2 of the hidden set, now version 3" in stale["stale"]
    assert [e["action"] for e in cli_json(org, "audit", phase)][:3] == ["dataset.import"] * 3
