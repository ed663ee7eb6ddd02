"""The board of a phase ranking measured figures, in headless Chromium over the real API: a code
re-run's runtime is shown with the baseline timed in its own job and the device it ran on (they
read n/a beside the bundle's GPU seconds), and the plot places it by the ratio that ranks it."""

from sqlalchemy import select

from server.db import get_sessionmaker
from server.models import Phase, ScoringRun, Submission
from server.services.runs import claim_run, complete_run
from server.services.submissions import add_scoring_run, new_public_id
from server.services.teams import create_team
from tests.e2e.test_web import browser, exactly, page, row  # noqa: F401  (the playwright fixtures)

CPU = "CPU: Intel Xeon (test), 2 threads"


def re_run_on_a_cpu() -> None:
    """A code submission re-run on a CPU: 1.3 s, the baseline 1.444 s in the same job (0.9×)."""
    with get_sessionmaker()() as db:
        phase = db.scalar(select(Phase).where(Phase.slug == "test"))
        team, _ = create_team(db, "cpu-team")
        submission = Submission(public_id=new_public_id(), phase=phase, team=team, kind="code", filename="c.zip",
                                file_size=1, file_sha256="0" * 64, tracks=["psnr"])
        db.add(submission)
        run = add_scoring_run(db, submission, "team:cpu-team")
        db.commit()
        claim_run(db, run.id, worker="w1")
        complete_run(db, db.get(ScoringRun, run.id), {
            "psnr": 28.9, "params": 500_000, "runtime": 1.3, "runtime_baseline": 1.444, "runtime_ratio": 0.9,
            "environment": {"device": CPU}}, {}, {}, "scored")


def test_a_re_run_shows_its_same_job_baseline_and_device_and_plots_by_its_ratio(cli, api, page):  # noqa: F811
    cli("baseline", "set", "aim2019/test", "--runtime", "0.130", "--device", "NVIDIA H200")
    re_run_on_a_cpu()
    page.goto(f"{api}/competitions/aim2019?phase=test&track=psnr")
    entry = row(page, "psnr", "cpu-team")
    assert entry.locator("td.runtime").inner_text().split() == ["1.300", "baseline", "1.444", "in", "the", "same",
                                                                 "job"]
    assert entry.locator("td.runtime_ratio").inner_text() == "0.90×"
    assert entry.locator("td.gpu").inner_text() == CPU
    assert row(page, "psnr", "Baseline").locator("td.gpu").inner_text() == "NVIDIA H200"
    plot = page.locator("svg.pareto")
    x = {team: float(plot.locator("g.point", has=page.locator("text.label", has_text=exactly(team)))
                     .locator("circle").get_attribute("cx")) for team in ("cpu-team", "Baseline")}
    assert x["cpu-team"] < x["Baseline"]
