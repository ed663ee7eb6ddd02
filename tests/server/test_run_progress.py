"""A running run's stage, as its worker reports it (services/progress.py), shown to the team (API,
team page) and the organizer (status), only while the delivery that reports it holds the run."""

import json

import httpx
from sqlalchemy import select

from server.db import get_sessionmaker
from server.models import Phase, ScoringRun, Submission
from server.services.progress import run_stage_reporter
from server.services.runs import claim_run, complete_run
from server.services.submissions import add_scoring_run, new_public_id
from server.services.teams import create_team
from tests.e2e.test_web import browser, page  # noqa: F401  (the playwright fixtures)


def running_code_run() -> tuple[str, str, int, int]:
    """A code submission whose run a worker has claimed: (its id, the team's token, run id, delivery)."""
    with get_sessionmaker()() as db:
        phase = db.scalar(select(Phase).where(Phase.slug == "test"))
        team, token = create_team(db, "slow-model")
        submission = Submission(public_id=new_public_id(), phase=phase, team=team, kind="code", filename="c.zip",
                                file_size=1, file_sha256="0" * 64, tracks=["psnr"])
        db.add(submission)
        run = add_scoring_run(db, submission, "team:slow-model")
        db.commit()
        return submission.public_id, token, run.id, claim_run(db, run.id, worker="gpu-1@vm")


def test_the_team_and_the_organizer_see_the_stage_of_a_running_run(cli, api, page):  # noqa: F811
    public_id, token, run_id, delivery = running_code_run()
    mine = f"{api}/api/v1/submissions/{public_id}"
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(mine, headers=headers).json()["stage"] is None
    run_stage_reporter(run_id, delivery)("measuring: parameters, MACs, 100 images timed against the baseline")
    run_stage_reporter(run_id, delivery + 1)("written by a delivery that does not hold the run")
    shown = httpx.get(mine, headers=headers).json()
    assert (shown["status"], shown["stage"]) == ("running", "measuring: parameters, MACs, 100 images timed "
                                                            "against the baseline")
    running = json.loads(cli("status", "--json").stdout)["running"]
    assert [(r["id"], r["stage"]) for r in running] == [(run_id, shown["stage"])]

    page.goto(f"{api}/team")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    assert page.locator(f"#submission-{public_id} td.status small.stage").inner_text() == shown["stage"]

    with get_sessionmaker()() as db:
        complete_run(db, db.get(ScoringRun, run_id), {"psnr": 28.0}, {}, {}, "scored", delivery=delivery)
    assert httpx.get(mine, headers=headers).json()["stage"] is None


def test_image_reports_are_thinned_but_a_new_stage_and_the_last_image_are_written(cli):
    _, _, run_id, delivery = running_code_run()
    report = run_stage_reporter(run_id, delivery)

    def stage() -> str:
        with get_sessionmaker()() as db:
            return db.get(ScoringRun, run_id).stage

    report("scoring image 1 of 50")
    for index in range(2, 50):
        report(f"scoring image {index} of 50")
    assert stage() == "scoring image 1 of 50"  # within a second of the first
    report("scoring image 50 of 50")
    assert stage() == "scoring image 50 of 50"
    report("writing the result")
    assert stage() == "writing the result"
