"""A PostgreSQL outage longer than the lease (3 s here, 30 s by default): finished work is kept until
it is saved, and a job claimed during the outage is claimed once the database is back (before: the
result was dropped after a lease and the job ran again; the failed claim was acknowledged and the
job waited for the reaper's resend, 10 minutes by default)."""

import re
import time

import pytest
from sqlalchemy import create_engine, text

from bench.stack import start_stack, zip_bytes
from tests.e2e.test_db_outage import log_messages, wait_for
from tests.worker.conftest import TINY_MODEL

LEASE_S = 3


@pytest.fixture(scope="module")
def outage_stack(tmp_path_factory, postgres):
    stack = start_stack(tmp_path_factory.mktemp("long-outage"), database_url=postgres.create_database("long_outage"),
                        settings={"LEASE_SECONDS": str(LEASE_S)})
    yield stack
    stack.close()


def runs_of(stack, public_id: str) -> list[tuple]:
    engine = create_engine(stack.env["SRCHALLENGE_DATABASE_URL"])
    with engine.connect() as connection:
        runs = connection.execute(text(
            "SELECT r.status, r.deliveries FROM scoring_runs r JOIN submissions s ON s.id = r.submission_id "
            "WHERE s.public_id = :id"), {"id": public_id}).all()
    engine.dispose()
    return [tuple(run) for run in runs]


def outage_past_the_lease(postgres, log, pattern: str) -> None:
    """Stop the database; once the worker logs ``pattern`` (it hit the outage), keep it down for
    longer than the lease (the outage's length is what is tested), then bring it back."""
    postgres.pause()
    try:
        wait_for(lambda: re.search(pattern, log.read_text(errors="replace")), 120, f"the worker to log {pattern!r}")
        time.sleep(LEASE_S * 2)
    except AssertionError as err:
        raise AssertionError(f"{err}; worker log ends:\n{log_messages(log)[-3000:]}") from None
    finally:
        postgres.resume()


def test_a_result_finished_in_a_long_outage_is_kept_until_saved(outage_stack, postgres):
    response = outage_stack.upload(zip_bytes({"model.py": TINY_MODEL.encode()}), kind="code")
    assert response.status_code == 202, response.text
    public_id = response.json()["id"]
    wait_for((outage_stack.data_dir / "work" / public_id / "run" / "stage2").exists, 120, "the measuring stage")
    outage_past_the_lease(postgres, outage_stack.root / "worker.log", r"saving run \d+ failed")
    assert outage_stack.wait_scored(public_id, timeout_s=60)["status"] == "scored"
    assert runs_of(outage_stack, public_id) == [("scored", 1)], "saved by its first delivery, not run again"


def test_a_claim_that_meets_an_outage_is_retried_once_the_database_is_back(outage_stack, postgres):
    outage_stack.stop("worker")
    response = outage_stack.upload(outage_stack.results_zip())
    assert response.status_code == 202, response.text
    public_id = response.json()["id"]
    log = outage_stack.root / "worker-claims.log"
    postgres.pause()  # the worker starts during the outage: the queued message is its first
    try:
        outage_stack.start_worker("worker-claims")
        wait_for(lambda: "score_run" in log.read_text(errors="replace"), 120, "the worker to take the message")
        time.sleep(LEASE_S * 2)
    finally:
        postgres.resume()
    try:
        assert outage_stack.wait_scored(public_id, timeout_s=60)["status"] == "scored", log_messages(log)[-3000:]
    finally:
        outage_stack.stop("worker-claims")
        outage_stack.start_worker()
