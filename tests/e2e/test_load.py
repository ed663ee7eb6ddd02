"""The API under a deadline burst and under faults, on SQLite and PostgreSQL (real processes).

A burst is absorbed or refused cleanly (503 with Retry-After), ``/healthz`` answers meanwhile, and
whatever the outcome of an upload nothing is left half-done: a 202 is a stored, recorded, queued
zip; anything else leaves no row, no queued run, no file and no used quota slot. Timings are not
asserted here beyond "answers at all" (bench/upload_burst.py measures them).
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from bench.stack import start_stack

TEAMS = 6
BURST = 30


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def load_stack(request, tmp_path_factory):
    """Three database connections per process: a burst of 30 uploads is ten times the pool."""
    url = request.getfixturevalue("postgres").create_database("load") if request.param == "postgres" else None
    stack = start_stack(tmp_path_factory.mktemp(f"load-{request.param}"), database_url=url,
                        settings={"DB_POOL_SIZE": "3", "DB_POOL_TIMEOUT_SECONDS": "20",
                                  "MAX_CONCURRENT_UPLOADS_PER_TEAM": str(BURST // TEAMS)})
    stack.tokens = [stack.token] + [stack.cli("team", "create", f"burst{i}").stdout.strip().splitlines()[-1]
                                    for i in range(1, TEAMS)]
    yield stack
    stack.close()


def team_submissions(stack, token: str) -> set[str]:
    with stack.client(token) as client:
        return {s["id"] for s in client.get("/api/v1/submissions").raise_for_status().json()}


def upload_folders(stack) -> set[str]:
    uploads = stack.data_dir / "uploads"
    return {folder.name for folder in uploads.iterdir()} if uploads.exists() else set()


class HealthProbe:
    """Polls /healthz from its own thread until stopped; records each answer and how long it took."""

    def __init__(self, url: str):
        self.url, self.answers, self._stop = url, [], threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=15) as client:
            while not self._stop.is_set():
                start = time.monotonic()
                try:
                    status = client.get("/healthz").status_code
                except httpx.HTTPError as err:
                    status = type(err).__name__
                self.answers.append((status, time.monotonic() - start))
                self._stop.wait(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._stop.set()
        self._thread.join()


def all_submissions(stack) -> set[str]:
    return set().union(*(team_submissions(stack, token) for token in stack.tokens))


def test_a_burst_of_uploads_is_accepted_or_refused_cleanly_while_healthz_answers(load_stack):
    before, recorded_before = upload_folders(load_stack), all_submissions(load_stack)
    data = load_stack.results_zip()
    tokens = [load_stack.tokens[i % TEAMS] for i in range(BURST)]
    with HealthProbe(load_stack.url) as probe, ThreadPoolExecutor(BURST) as pool:
        responses = list(pool.map(lambda token: load_stack.upload(data, token=token), tokens))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {202, 503}, codes
    assert all(r.headers.get("retry-after") for r in responses if r.status_code == 503)
    assert codes.count(202) >= BURST // 2, f"a burst of {BURST} on a pool of 3 should mostly get through: {codes}"
    assert probe.answers and all(status == 200 and seconds < 10 for status, seconds in probe.answers), \
        f"/healthz must answer during the burst: {[a for a in probe.answers if a[0] != 200 or a[1] >= 10]}"
    accepted = {r.json()["id"] for r in responses if r.status_code == 202}
    assert all_submissions(load_stack) - recorded_before == accepted, "a refused upload was recorded"
    assert upload_folders(load_stack) - before == accepted, "folders must be exactly the accepted uploads"
    for public_id in accepted:
        assert (load_stack.data_dir / "uploads" / public_id / "submission.zip").stat().st_size == len(data)


TEST_PHASE = "aim2019/test"


def test_broker_down_during_an_upload_answers_503_and_keeps_nothing(load_stack):
    """Before: the row and its queued run stayed (quota used), the folder went, and a 500."""
    token = load_stack.tokens[1]
    load_stack.cli("phase", "set-limits", TEST_PHASE, "--per-day", "1", "--total", "0")
    try:
        before, folders = team_submissions(load_stack, token), upload_folders(load_stack)
        load_stack.stop("redis")
        try:
            refused = load_stack.upload(load_stack.results_zip(), token=token, phase=TEST_PHASE)
        finally:
            load_stack.start("redis", load_stack.redis_args)
        assert refused.status_code == 503 and int(refused.headers["retry-after"]) > 0, refused.text
        assert team_submissions(load_stack, token) == before and upload_folders(load_stack) == folders
        accepted = load_stack.upload(load_stack.results_zip(), token=token, phase=TEST_PHASE)
        assert accepted.status_code == 202, f"the refused upload must not use the day's one slot: {accepted.text}"
        assert load_stack.wait_scored(accepted.json()["id"], token=token)["status"] == "scored"
    finally:
        load_stack.cli("phase", "set-limits", TEST_PHASE, "--per-day", "0")


class SlowUpload:
    """An upload whose body stops after its first bytes until ``finish()``: in flight meanwhile."""

    def __init__(self, stack, token: str, phase: str):
        self.data, self.outcome = stack.results_zip(), {}
        self._started, self._finish = threading.Event(), threading.Event()
        url = f"{stack.url}/api/v1/phases/{phase}/submissions"
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "multipart/form-data; boundary=B"}
        self._thread = threading.Thread(target=lambda: self._send(url, headers))
        self._thread.start()
        assert self._started.wait(30)
        time.sleep(0.5)  # the server is inside the body by now

    def _body(self):
        yield b'--B\r\nContent-Disposition: form-data; name="file"; filename="r.zip"\r\n\r\n' + self.data[:100]
        self._started.set()
        self._finish.wait(60)
        yield self.data[100:] + b"\r\n--B--\r\n"

    def _send(self, url: str, headers: dict) -> None:
        try:
            self.outcome["response"] = httpx.post(url, content=self._body(), timeout=60, headers=headers)
        except httpx.HTTPError as err:
            self.outcome["error"] = err

    def finish(self) -> httpx.Response:
        self._finish.set()
        self._thread.join(60)
        return self.outcome.get("response") or self.outcome["error"]


def test_an_upload_that_ends_after_the_phase_closed_is_refused(load_stack):
    """Decided when the upload ends, in the transaction that records it (before: 202)."""
    token = load_stack.tokens[2]
    before, folders = team_submissions(load_stack, token), upload_folders(load_stack)
    slow = SlowUpload(load_stack, token, TEST_PHASE)
    try:
        load_stack.cli("phase", "close", TEST_PHASE)
        response = slow.finish()
        assert response.status_code == 403 and "closed" in response.json()["detail"], response.text
        assert team_submissions(load_stack, token) == before and upload_folders(load_stack) == folders
    finally:
        slow.finish()
        load_stack.cli("phase", "open", TEST_PHASE)


def test_a_team_streams_a_bounded_number_of_uploads_and_those_count_against_its_quota(load_stack):
    """Before: one slot left, eight uploads streamed at once (8 × the size limit on disk)."""
    token, cap = load_stack.tokens[3], BURST // TEAMS
    slow = [SlowUpload(load_stack, token, load_stack.phase) for _ in range(cap)]
    try:
        refused = load_stack.upload(load_stack.results_zip(), token=token)
        assert refused.status_code == 429 and "already sending" in refused.json()["detail"], refused.text
        assert int(refused.headers["retry-after"]) > 0
    finally:
        assert all(upload.finish().status_code == 202 for upload in slow)
    load_stack.cli("phase", "set-limits", TEST_PHASE, "--per-day", "1", "--total", "0")
    try:
        in_flight = SlowUpload(load_stack, load_stack.tokens[4], TEST_PHASE)
        try:
            second = load_stack.upload(load_stack.results_zip(), token=load_stack.tokens[4], phase=TEST_PHASE)
            assert second.status_code == 429 and "still arriving" in second.json()["detail"], second.text
        finally:
            assert in_flight.finish().status_code == 202
    finally:
        load_stack.cli("phase", "set-limits", TEST_PHASE, "--per-day", "0")
