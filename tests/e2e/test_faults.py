"""Faults with real processes: a worker killed mid-job, and Redis restarted under load.

The database is the source of truth: a dead worker's run is re-queued when its lease expires,
and a run whose message died with the broker is queued again; guarded claims make each run
score exactly once.
"""

import sqlite3
import time

import numpy as np
import pytest

from bench.stack import start_stack, wait_for_http


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    stack = start_stack(tmp_path_factory.mktemp("faults"), image_count=12, size=(768, 1024),
                        settings={"LEASE_SECONDS": "2", "REQUEUE_AFTER_SECONDS": "4",
                                  "MAX_UPLOAD_BYTES": str(200 * 1024 * 1024)})
    yield stack
    stack.close()


def runs_of(stack, public_id: str) -> list[tuple]:
    with sqlite3.connect(stack.data_dir / "srchallenge.db") as db:
        return db.execute(
            "SELECT r.id, r.status, r.deliveries, (SELECT COUNT(*) FROM image_scores i WHERE i.run_id = r.id) "
            "FROM scoring_runs r JOIN submissions s ON s.id = r.submission_id WHERE s.public_id = ?",
            (public_id,)).fetchall()


def wait_until(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_worker_killed_mid_job_is_rescored_exactly_once(faulty):
    rng = np.random.default_rng(11)
    sr = {k: np.clip(v.astype(int) + rng.integers(-3, 4, v.shape), 0, 255).astype(np.uint8)
          for k, v in faulty.hr.items()}
    response = faulty.upload(faulty.results_zip(sr))
    assert response.status_code == 202
    public_id = response.json()["id"]
    wait_until(lambda: runs_of(faulty, public_id)[0][1] == "running", 60, "the run to start")
    faulty.stop("worker", sig=9)
    assert runs_of(faulty, public_id)[0][1] == "running"
    faulty.start_worker("worker2")
    body = faulty.wait_scored(public_id, timeout_s=120)
    assert body["status"] == "scored"
    [(_, status, deliveries, image_rows)] = runs_of(faulty, public_id)
    assert (status, deliveries, image_rows) == ("scored", 2, len(faulty.hr))


def test_redis_restart_during_a_burst_loses_nothing(faulty):
    zip_data = faulty.results_zip()
    ids = []
    for i in range(50):
        if i == 20:
            faulty.stop("redis")
            faulty.start("redis", faulty.redis_args)
            time.sleep(0.5)
        response = faulty.upload(zip_data)
        if response.status_code == 202:
            ids.append(response.json()["id"])
    assert len(ids) >= 45, "uploads while Redis restarts may be refused, but not most of them"
    for public_id in ids:
        assert faulty.wait_scored(public_id, timeout_s=300)["status"] == "scored"
    for public_id in ids:
        runs = runs_of(faulty, public_id)
        assert len(runs) == 1 and runs[0][1] == "scored" and runs[0][3] == len(faulty.hr)
    wait_for_http(f"{faulty.url}/healthz", [])


def test_api_killed_during_an_upload_registers_nothing(faulty):
    import threading

    import httpx

    def count_submissions() -> int:
        with sqlite3.connect(faulty.data_dir / "srchallenge.db") as db:
            return db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]

    before = count_submissions()
    started = threading.Event()

    def slow_body():
        yield b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.zip\"\r\n\r\n"
        for _ in range(200):
            started.set()
            yield bytes(64 * 1024)
            time.sleep(0.05)
        yield b"\r\n--B--\r\n"

    outcome = {}

    def send():
        try:
            outcome["response"] = httpx.post(
                f"{faulty.url}/api/v1/phases/{faulty.phase}/submissions", content=slow_body(), timeout=60,
                headers={"Authorization": f"Bearer {faulty.token}", "Content-Type": "multipart/form-data; boundary=B"})
        except httpx.HTTPError as err:
            outcome["error"] = err

    sender = threading.Thread(target=send)
    sender.start()
    assert started.wait(30)
    time.sleep(1)
    api_args = faulty.procs["api"].args
    faulty.stop("api", sig=9)
    sender.join(60)
    assert "error" in outcome, f"the client should see the connection die, got {outcome}"
    faulty.start("api", api_args)
    wait_for_http(f"{faulty.url}/healthz", [faulty.procs["api"]])
    assert count_submissions() == before
    assert faulty.submit_and_wait(faulty.results_zip())["status"] == "scored"
