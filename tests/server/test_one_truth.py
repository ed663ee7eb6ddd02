"""One board, every output: the web page, the JSON API, and the CSV, JSON, Markdown, LaTeX and text
exports (the text export is what ``srchallenge leaderboard`` prints) show the same parameters,
runtime and runtime ratio for each row, under headings that name the same source."""

import csv
import io
import json

import pytest

from scoring.shown import ranking_notice
from server.models import Submission
from server.routes.leaderboard import render_leaderboard
from server.routes.pages import leaderboard_context
from server.services.competitions import get_phase_by_path
from server.services.exports import export_leaderboard
from server.services.teams import create_team

ALL_TRACKS = ["params", "runtime", "psnr"]


def add_scored(session, phase, name, **figures):
    team, _ = create_team(session, name)
    session.add(Submission(public_id=f"{name}-1", phase=phase, team=team, kind="results", status="scored",
                           filename="r.zip", file_size=1, file_sha256="0" * 64, tracks=ALL_TRACKS, **figures))


@pytest.fixture(params=["validation", "test"])
def phase(request, session):
    phase = get_phase_by_path(session, f"aim2019/{request.param}")
    # Self-reported figures only (a results zip with a readme): the validation page once showed
    # runtime "n/a" and a 0.77× ratio here while JSON had null and the exports said "by organizers".
    add_scored(session, phase, "selfish", psnr=29.1, self_params=1_000_000, self_runtime=0.1, gpu="Titan X")
    # Measured figures with a same-device ratio, and other self-reported ones (a code re-run).
    add_scored(session, phase, "measured", psnr=29.2, params=900_000, runtime=0.12, runtime_ratio=0.8,
               self_params=950_000, self_runtime=0.2, self_runtime_baseline=0.25)
    session.commit()
    return phase


def test_every_output_shows_the_same_figures_under_the_same_headings(session, phase):
    page = leaderboard_context(session, "aim2019", phase.slug, None, None, None)
    api = json.loads(render_leaderboard(session, phase, None))
    exported = {fmt: export_leaderboard(session, phase, fmt).text
                for fmt in ("csv", "json", "markdown", "latex", "table")}
    csv_rows = list(csv.DictReader(io.StringIO(exported["csv"])))
    json_tracks = json.loads(exported["json"])["tracks"]

    labels = {name: page["columns"][name][0] for name in ("params", "runtime", "runtime_ratio")}
    source = "self-reported" if phase.ranking_figures == "self_reported" else "by organizers"
    assert source in labels["runtime"] and source in labels["runtime_ratio"]
    seen = 0
    for (track, page_rows), api_track, json_track in zip(page["tracks"], api["tracks"], json_tracks):
        assert json_track["labels"] == labels
        for fmt in ("markdown", "latex", "table"):
            assert labels["params"] in exported[fmt] and labels["runtime"] in exported[fmt]
        api_rows = {r["team"]: r for r in api_track["rows"]}
        json_rows = {r["team"]: r for r in json_track["rows"]}
        csv_by_team = {r["team"]: r for r in csv_rows if r["track"] == track.slug}
        for row in page_rows:
            figures = (row.params, row.runtime, row.runtime_ratio)
            assert (api_rows[row.team]["params"], api_rows[row.team]["runtime"],
                    api_rows[row.team]["runtime_to_baseline"]) == figures
            assert (json_rows[row.team]["params"], json_rows[row.team]["runtime"],
                    json_rows[row.team]["runtime_to_baseline"]) == figures
            cells = csv_by_team[row.team]
            assert tuple(None if cells[k] == "" else float(cells[k])
                         for k in ("params", "runtime", "runtime_to_baseline")) == figures
            if row.runtime is not None:
                for fmt in ("markdown", "table"):
                    line = next(x for x in exported[fmt].splitlines() if x.lstrip("| ").startswith(row.team + " "))
                    assert f"{row.runtime:.3f}" in line
            seen += 1
    assert seen == 9  # two teams and the baseline on three tracks

    rows = {r.team: r for r in page["tracks"][0][1]}
    if phase.ranking_figures == "self_reported":
        assert (rows["selfish"].params, rows["selfish"].runtime) == (1_000_000, 0.1)
        assert rows["selfish"].runtime_ratio == pytest.approx(0.1 / 0.130)  # what the constraint compares
        assert rows["measured"].runtime_ratio == pytest.approx(0.2 / 0.25)  # the team's own-machine ratio
    else:
        assert (rows["selfish"].params, rows["selfish"].runtime, rows["selfish"].runtime_ratio) == (None, None, None)
        assert (rows["measured"].runtime, rows["measured"].runtime_ratio) == (0.12, 0.8)


def test_only_a_results_zip_to_a_phase_ranking_measured_figures_gets_a_notice():
    assert "Submit your code" in ranking_notice("results", "measured")
    assert ranking_notice("code", "measured") is None
    assert ranking_notice("results", "self_reported") is None
