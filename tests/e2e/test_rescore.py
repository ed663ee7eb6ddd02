"""Rescoring on a real deployment (redis, API, worker processes), driven by the organizer CLI.

The module has its own stack, so it can replace the phase's hidden HR set freely: rescored
figures must follow the new set, the old figures stay until then (and after a failed rescore),
every run stays in the history, and a worker killed mid-rescore costs a re-delivery, not a
second result.
"""

import json
import math
import sqlite3
import time

import numpy as np
import pytest

from bench.stack import png_bytes, start_stack

PHASE = "aim2019/validation"


@pytest.fixture(scope="module")
def rs(tmp_path_factory):
    stack = start_stack(tmp_path_factory.mktemp("rescore"), image_count=12, size=(768, 1024),
                        settings={"LEASE_SECONDS": "4", "REQUEUE_AFTER_SECONDS": "30",
                                  "MAX_UPLOAD_BYTES": str(200 * 1024 * 1024)})
    stack.beta_token = stack.cli("team", "create", "beta").stdout.strip().splitlines()[-1]
    yield stack
    stack.close()


def psnr(sr: np.ndarray, hr: np.ndarray, shave: int = 4) -> float:
    diff = sr[shave:-shave, shave:-shave].astype(np.float64) - hr[shave:-shave, shave:-shave]
    return 10 * math.log10(255**2 / np.mean(diff**2))


def noisy(images: dict[str, np.ndarray], seed: int, amplitude: int = 6) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: np.clip(v.astype(int) + rng.integers(-amplitude, amplitude + 1, v.shape), 0, 255).astype(np.uint8)
            for k, v in images.items()}


def mean_psnr(sr: dict[str, np.ndarray], hr: dict[str, np.ndarray]) -> float:
    return float(np.mean([psnr(sr[k], hr[k]) for k in sorted(hr)]))


def replace_hr(stack, images: dict[str, np.ndarray], name: str) -> None:
    folder = stack.root / name
    folder.mkdir()
    for key, image in images.items():
        (folder / f"{key}.png").write_bytes(png_bytes(image))
    stack.cli("dataset", "import", "--phase", PHASE, "--hr", str(folder))


def cli_json(stack, *args: str, code: int = 0):
    result = stack.cli(*args, "--json", check=False)
    assert result.returncode == code, f"srchallenge {' '.join(args)}: {result.stdout}{result.stderr}"
    return json.loads(result.stdout), " ".join(result.stderr.split())


def runs_of(stack, public_id: str) -> list[tuple]:
    with sqlite3.connect(stack.data_dir / "srchallenge.db") as db:
        return db.execute(
            "SELECT r.id, r.attempt, r.status, r.deliveries, "
            "(SELECT COUNT(*) FROM image_scores i WHERE i.run_id = r.id) "
            "FROM scoring_runs r JOIN submissions s ON s.id = r.submission_id WHERE s.public_id = ? "
            "ORDER BY r.attempt", (public_id,)).fetchall()


def submit(stack, images: dict[str, np.ndarray], token: str | None = None) -> dict:
    response = stack.upload(stack.results_zip(images), token=token)
    assert response.status_code == 202, response.text
    body = stack.wait_scored(response.json()["id"], token=token)
    assert body["status"] == "scored", body
    return body


def test_rescore_follows_a_replaced_hr_set_and_leaves_other_teams_alone(rs):
    # a team of its own: the other tests' submissions as alpha would be rescored with --team too
    follows_token = rs.cli("team", "create", "follows").stdout.strip().splitlines()[-1]
    alpha_sr, beta_sr = noisy(rs.hr, 1), noisy(rs.hr, 2)
    alpha = submit(rs, alpha_sr, token=follows_token)
    beta = submit(rs, beta_sr, token=rs.beta_token)
    new_hr = noisy(rs.hr, 3, amplitude=3)
    replace_hr(rs, new_hr, "hr-second")
    rs.hr = new_hr

    items, _ = cli_json(rs, "rescore", "--team", "follows", "--phase", PHASE, "--wait")
    assert [(i["submission"], i["run"]["status"], i["run"]["attempt"]) for i in items] == [(alpha["id"], "scored", 2)]
    assert items[0]["old"]["psnr"] == pytest.approx(alpha["psnr"])
    assert items[0]["run"]["figures"]["psnr"] == pytest.approx(mean_psnr(alpha_sr, new_hr))
    assert abs(items[0]["run"]["figures"]["psnr"] - alpha["psnr"]) > 0.01

    shown, _ = cli_json(rs, "submission", "show", alpha["id"])
    assert shown["figures"]["psnr"] == pytest.approx(mean_psnr(alpha_sr, new_hr))
    history = shown["runs"]
    assert [(r["attempt"], r["status"], r["requested_by"]) for r in history] == [
        (1, "scored", "team:follows"), (2, "scored", "organizer:cli")]
    assert history[0]["dataset_version"] != history[1]["dataset_version"]
    assert all(r["code_version"] and r["worker"] and r["finished_at"] for r in history)
    assert shown["current_run_id"] == history[1]["id"]

    beta_now, _ = cli_json(rs, "submission", "show", beta["id"])
    assert beta_now["figures"]["psnr"] == pytest.approx(beta["psnr"]) and len(beta_now["runs"]) == 1


def test_a_failed_rescore_keeps_the_old_figures_and_says_why(rs):
    sr = noisy(rs.hr, 4)
    body = submit(rs, sr)
    cropped = {k: v[:-8] for k, v in rs.hr.items()}
    replace_hr(rs, cropped, "hr-cropped")
    try:
        items, said = cli_json(rs, "rescore", "--submission", body["id"], "--wait", code=1)
        assert "1 of 1 rescore(s) did not score; their old figures stay" in said
        assert items[0]["run"]["status"] == "failed" and items[0]["run"]["reason"]
        shown, _ = cli_json(rs, "submission", "show", body["id"])
        assert (shown["status"], shown["figures"]["psnr"]) == ("scored", pytest.approx(body["psnr"]))
        assert [r["status"] for r in shown["runs"]] == ["scored", "failed"]
    finally:
        replace_hr(rs, rs.hr, "hr-restored")


def test_worker_killed_mid_rescore_scores_once(rs):
    body = submit(rs, noisy(rs.hr, 5))
    rs.stop("worker")
    first, _ = cli_json(rs, "rescore", "--submission", body["id"])
    again, _ = cli_json(rs, "rescore", "--submission", body["id"])
    assert again[0]["already_pending"] and again[0]["run"]["id"] == first[0]["run"]["id"]

    rs.start_worker("worker-a")
    deadline = time.monotonic() + 120
    while runs_of(rs, body["id"])[-1][2] != "running":
        assert time.monotonic() < deadline, "the rescore did not start"
        time.sleep(0.05)
    rs.stop("worker-a", 9)
    rs.start_worker("worker-b")
    items, _ = cli_json(rs, "rescore", "--submission", body["id"], "--wait")
    assert items[0]["already_pending"] and items[0]["run"]["status"] == "scored"
    runs = runs_of(rs, body["id"])
    assert runs[1][0] == first[0]["run"]["id"]
    assert [(attempt, status, images) for _, attempt, status, _, images in runs] == [
        (1, "scored", len(rs.hr)), (2, "scored", len(rs.hr))], "one result per run, not two"
    assert runs[1][3] >= 2, "the killed worker's delivery was followed by another"


def test_status_sees_the_worker_and_the_queues(rs):
    report, _ = cli_json(rs, "status")
    assert report["broker"] == "redis" and report["ping_available"]
    assert {q["name"] for q in report["queues"]} == {"scoring", "gpu"}
    assert any(w["answered_ping"] for w in report["workers"])
    assert report["stuck"] == []


@pytest.mark.parametrize(("args", "message"), [
    (("rescore", "--team", "nobody"), "no team 'nobody'"),
    (("rescore", "--team", "alpha", "--phase", "aim2019/nope"), "no phase aim2019/nope"),
    (("rescore", "--phase", "nope/test", "--all"), "no phase nope/test"),
])
def test_unknown_team_or_phase_fails_clearly(rs, args, message):
    result = rs.cli(*args, check=False)
    assert result.returncode == 1 and message in " ".join(result.stderr.split())
