"""Upload → queue → real worker → score → leaderboard, over HTTP, for results zips."""

import json
import math

import numpy as np
import pytest

from bench.stack import png_bytes, zip_bytes


def reference_psnr(sr: np.ndarray, hr: np.ndarray, shave: int = 4) -> float:
    diff = sr[shave:-shave, shave:-shave].astype(np.float64) - hr[shave:-shave, shave:-shave]
    return 10 * math.log10(255**2 / np.mean(diff**2))


def degraded(stack, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: np.clip(v.astype(int) + rng.integers(-6, 7, v.shape), 0, 255).astype(np.uint8)
            for k, v in stack.hr.items()}


def test_results_zip_is_scored_and_listed(stack):
    sr = degraded(stack)
    body = stack.submit_and_wait(stack.results_zip(sr), params="900000", runtime="0.05", runtime_baseline="0.1")
    assert body["status"] == "scored", body
    expected = np.mean([reference_psnr(sr[k], stack.hr[k]) for k in sorted(sr)])
    assert body["psnr"] == pytest.approx(expected, abs=1e-9)
    assert [s["image"] for s in body["per_image"]] == sorted(stack.hr)
    assert body["self_params"] == 900000
    with stack.client() as client:
        board = client.get(f"/api/v1/phases/{stack.phase}/leaderboard").json()
    rows = {row["team"]: row for row in board["tracks"][0]["rows"]}
    assert rows["alpha"]["psnr"] == pytest.approx(expected)
    assert rows["Baseline"]["is_baseline"]


def test_images_pair_by_name_not_by_position(stack):
    sr = degraded(stack, seed=1)
    named_x4 = {f"{k}x4.png": png_bytes(v) for k, v in reversed(list(sr.items()))}
    body = stack.submit_and_wait(zip_bytes(named_x4))
    expected = np.mean([reference_psnr(sr[k], stack.hr[k]) for k in sr])
    assert body["status"] == "scored" and body["psnr"] == pytest.approx(expected)


def test_identical_images_are_capped_not_infinite(stack):
    body = stack.submit_and_wait(stack.results_zip())
    assert body["status"] == "scored"
    assert math.isfinite(body["psnr"]) and all(s["capped"] for s in body["per_image"])


@pytest.mark.parametrize("members, reason", [
    ({}, "empty"),
    ({"../evil.png": b"x"}, ".."),
    ({"/abs.png": b"x"}, "absolute"),
    ({"notes.docx": b"x"}, "notes.docx"),
])
def test_bad_zips_fail_with_a_reason(stack, members, reason):
    body = stack.submit_and_wait(zip_bytes(members) if members else zip_bytes({}))
    assert body["status"] == "failed"
    assert reason in body["reason"].lower() or reason in body["reason"]


def test_wrong_size_and_missing_images_are_named(stack):
    keys = sorted(stack.hr)
    images = {k: png_bytes(stack.hr[k]) for k in keys[1:]}
    images[f"{keys[1]}.png"] = png_bytes(stack.hr[keys[1]][:-4])
    body = stack.submit_and_wait(zip_bytes({f"{k}.png" if not k.endswith(".png") else k: v
                                            for k, v in images.items()}))
    assert body["status"] == "failed" and keys[0] in body["reason"]
    body = stack.submit_and_wait(zip_bytes({f"{k}.png": png_bytes(stack.hr[k][:-4] if k == keys[1] else stack.hr[k])
                                            for k in keys}))
    assert body["status"] == "failed" and keys[1] in body["reason"]


def test_worker_survives_hostile_input_and_scores_the_next(stack):
    truncated = png_bytes(stack.hr[sorted(stack.hr)[0]])[:200]
    failed = stack.submit_and_wait(zip_bytes({f"{k}.png": truncated for k in stack.hr}))
    assert failed["status"] == "failed"
    assert stack.submit_and_wait(stack.results_zip(degraded(stack, 3)))["status"] == "scored"


def test_nothing_is_written_outside_the_submission_folder(stack):
    before = {p for p in stack.data_dir.rglob("*") if "uploads" not in p.parts and "broker" not in p.parts}
    body = stack.submit_and_wait(zip_bytes({"../../escape.png": b"x", "a/../../b.png": b"y"}))
    after = {p for p in stack.data_dir.rglob("*") if "uploads" not in p.parts and "broker" not in p.parts}
    assert body["status"] == "failed"
    assert {p for p in after - before if not p.name.startswith("srchallenge.db")} == set()


def test_not_a_zip_is_refused_at_upload(stack):
    response = stack.upload(b"this is not a zip")
    assert response.status_code == 400 and "zip" in response.json()["detail"]


def test_auth_and_unknown_phase(stack):
    assert stack.upload(stack.results_zip(), token="srt_wrong").status_code == 401
    with stack.client() as client:
        client.headers.pop("Authorization")
        response = client.post(f"/api/v1/phases/{stack.phase}/submissions", files={"file": ("a.zip", b"PK")})
    assert response.status_code == 401
    assert stack.upload(stack.results_zip(), phase="aim2019/nope").status_code == 404
    assert stack.upload(stack.results_zip(), phase="nope/validation").status_code == 404


def test_upload_over_the_limit_is_refused_with_413(stack):
    too_big = b"PK" + bytes(13 * 1024 * 1024)
    response = stack.upload(too_big)
    assert response.status_code == 413
    uploads = stack.data_dir / "uploads"
    assert all(any(d.iterdir()) for d in uploads.iterdir()), "a refused upload left a folder behind"


def test_lr_inputs_download_and_hr_stays_private(stack):
    with stack.client() as client:
        names = client.get(f"/api/v1/phases/{stack.phase}/inputs").json()
        assert names == [f"{k}x4.png" for k in sorted(stack.hr)]
        assert client.get(f"/api/v1/phases/{stack.phase}/inputs/{names[0]}").headers["content-type"] == "image/png"
        assert client.get(f"/api/v1/phases/{stack.phase}/inputs.zip").status_code == 200
        for probe in ("..%2F..%2Fprivate%2Faim2019%2Fvalidation%2Fhr%2F0801.npy", "0801.npy", "0801.png"):
            assert client.get(f"/api/v1/phases/{stack.phase}/inputs/{probe}").status_code == 404


def test_cli_submit_waits_for_the_score(stack, tmp_path):
    path = tmp_path / "results.zip"
    path.write_bytes(stack.results_zip(degraded(stack, 5)))
    result = stack.cli("submit", "--phase", stack.phase, "--token", stack.token, "--server", stack.url,
                       str(path), "--wait")
    assert "scored: PSNR" in result.stdout
    seen = [line.split(": ", 1)[1] for line in result.stderr.splitlines() if ": " in line]
    assert seen and seen[-1] == "scored", f"--wait shows each status it sees on stderr: {result.stderr!r}"
    assert all(a != b for a, b in zip(seen, seen[1:])), "a status is shown once, when it changes"


def test_readme_factsheet_fills_self_reported_figures(stack):
    readme = (b"Runtime per image [s] : 0.042\nParameters : 1,234,567\nCPU[1] / GPU[0] : 0\n"
              b"Extra Data [1] / No Extra Data [0] : 1\nOther description : a small net\n")
    members = {f"{k}.png": png_bytes(v) for k, v in degraded(stack, 7).items()} | {"readme.txt": readme}
    body = stack.submit_and_wait(zip_bytes(members), runtime="0.05")
    assert body["status"] == "scored", body
    assert body["self_params"] == 1234567 and body["extra_data"] is True
    assert body["self_uses_gpu"] is True, "CPU[1] / GPU[0] : 0 means a GPU"
    assert body["self_runtime"] == 0.05, "a form field takes precedence over the readme"


def json_lines(path) -> list[dict]:
    """The JSON objects among a process's output lines (uvicorn and Celery print text of their own)."""
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            lines.append(entry)
    return lines


def test_api_and_worker_log_the_submission_id_as_json(stack):
    submission_id = stack.upload(stack.results_zip(degraded(stack, seed=3))).json()["id"]
    assert stack.wait_scored(submission_id)["status"] == "scored"
    about = [(path.stem, entry) for path in (stack.root / "api.log", stack.root / "worker.log")
             for entry in json_lines(path) if entry.get("submission") == submission_id]
    queued = next(entry for name, entry in about if name == "api" and entry["message"] == "submission queued")
    assert queued["phase"] == stack.phase and queued["kind"] == "results" and queued["level"] == "INFO"
    scored = next(entry for name, entry in about if name == "worker" and entry.get("status") == "scored")
    assert scored["run"] == queued["run"] and scored["logger"] == "srchallenge.worker" and "timestamp" in scored
    assert "psnr" in scored["message"]
