"""Figures scored on an older hidden set, and a rescore that failed, as every output shows them:
the CLI's exports (they lacked the "awaiting a rescore" mark the web board has) and the team's own
submission (API and team page: they showed neither)."""

import httpx
import numpy as np
from sqlalchemy import select

from bench.stack import photo_like, png_bytes
from server.db import get_sessionmaker
from server.models import Phase, ScoringRun, Submission
from server.services.runs import claim_run, complete_run, fail_run
from server.services.submissions import add_scoring_run, new_public_id
from server.services.teams import create_team
from tests.e2e.test_web import browser, page  # noqa: F401  (the playwright fixtures)

STALE = "scored on version 1 of the hidden set, now version 2: awaiting a rescore"


def import_hr(cli, tmp_path, name: str, seed: int) -> None:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "0801.png").write_bytes(png_bytes(photo_like(np.random.default_rng(seed), 32, 48)))
    cli("dataset", "import", "--phase", "aim2019/validation", "--hr", str(folder))


def scored_submission(team_name: str) -> tuple[str, str]:
    """A results submission scored on the phase's current hidden set: (its id, the team's token)."""
    with get_sessionmaker()() as db:
        phase = db.scalar(select(Phase).where(Phase.slug == "validation"))
        team, token = create_team(db, team_name)
        submission = Submission(public_id=new_public_id(), phase=phase, team=team, kind="results", filename="a.zip",
                                file_size=1, file_sha256="0" * 64, tracks=["psnr"], self_params=900_000,
                                self_runtime=0.05, self_runtime_baseline=0.1)
        db.add(submission)
        run = add_scoring_run(db, submission, f"team:{team_name}")
        db.commit()
        claim_run(db, run.id, worker="w1")
        complete_run(db, db.get(ScoringRun, run.id), {"psnr": 29.5}, {}, {}, "scored")
        return submission.public_id, token


def failed_rescore(public_id: str) -> None:
    with get_sessionmaker()() as db:
        submission = db.scalar(select(Submission).where(Submission.public_id == public_id))
        run = add_scoring_run(db, submission, "organizer:cli")
        db.commit()
        claim_run(db, run.id, worker="w1")
        fail_run(db, db.get(ScoringRun, run.id), "Missing 1 of 2 images: 0802.png")


def test_cli_exports_mark_figures_awaiting_a_rescore(cli, tmp_path):
    import_hr(cli, tmp_path, "hr-1", 1)
    scored_submission("alpha")
    import_hr(cli, tmp_path, "hr-2", 2)
    for fmt in ("table", "markdown", "latex", "csv", "json"):
        board = cli("leaderboard", "--phase", "aim2019/validation", "--track", "psnr", "--format", fmt).stdout
        assert STALE in board, fmt


def test_the_team_sees_stale_figures_and_a_failed_rescore(cli, api, tmp_path, page):  # noqa: F811
    import_hr(cli, tmp_path, "hr-1", 1)
    public_id, token = scored_submission("alpha")
    import_hr(cli, tmp_path, "hr-2", 2)
    failed_rescore(public_id)
    fresh_id, fresh_token = scored_submission("beta")
    fresh = httpx.get(f"{api}/api/v1/submissions/{fresh_id}", headers={"Authorization": f"Bearer {fresh_token}"})
    assert (fresh.json()["stale"], fresh.json()["rescore_failed"]) == (None, None)
    shown = httpx.get(f"{api}/api/v1/submissions/{public_id}", headers={"Authorization": f"Bearer {token}"}).json()
    assert (shown["status"], shown["psnr"], shown["stale"]) == ("scored", 29.5, STALE)
    assert shown["rescore_failed"] == "Missing 1 of 2 images: 0802.png"

    page.goto(f"{api}/team")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    status = page.locator(f"#submission-{public_id} td.status")
    assert f"Figures {STALE}" in status.inner_text()
    assert ("A rescore failed: Missing 1 of 2 images: 0802.png. The figures shown are those of the earlier run."
            in status.inner_text())
