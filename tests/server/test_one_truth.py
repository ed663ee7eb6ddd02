"""One board, every output: the web page, the JSON API, and the CSV, JSON, Markdown, LaTeX and text
exports (the text export is what ``srchallenge leaderboard`` prints) show the same parameters,
runtime and runtime ratio for each row, under headings that name the same source; and on a track
of every rule kind, the same ranks and the same rule columns (ranks summed, Score_X, the score)."""

import csv
import io
import json

from pathlib import Path

import pytest

from scoring.shown import ranking_notice, rule_columns
from server.bundle import load_bundle
from server.models import Submission
from server.routes.leaderboard import render_leaderboard
from server.routes.pages import leaderboard_context
from server.services.baseline import set_baseline
from server.services.competitions import create_competition, get_phase_by_path
from server.services.exports import export_leaderboard
from server.services.teams import create_team

ALL_TRACKS = ["params", "runtime", "psnr"]
COMPETITIONS = Path(__file__).resolve().parents[2] / "competitions"


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
    # where the ranked runtime is the team's own, no second column repeats it (page or exports)
    repeated = phase.ranking_figures == "self_reported"
    assert ("runtime_self" in page["columns"]) is not repeated
    assert ("by authors" in exported["markdown"]) is not repeated
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


KIND_BUNDLES = {"gate": "ntire2022-esr", "rank_sum": "ntire2022-esr", "weighted_score": "ntire2024-esr"}


@pytest.fixture(params=sorted(KIND_BUNDLES))
def kind_phase(request, session):
    """A phase of a bundle with a track of each rule kind, holding two code entries with every figure."""
    competition = create_competition(session, load_bundle(COMPETITIONS / f"{KIND_BUNDLES[request.param]}.yaml"))
    phase = next(p for p in competition.phases if p.slug == "validation")
    if phase.baseline_runtime is None:
        set_baseline(session, phase, "test", psnr=29.0, runtime=0.05)
    tracks = [t.slug for t in phase.tracks]
    for name, scale in (("small", 1), ("large", 2)):
        team, _ = create_team(session, f"{request.param}-{name}")
        session.add(Submission(public_id=f"{request.param}-{name}", phase=phase, team=team, kind="code",
                               status="scored", filename="m.zip", file_size=1, file_sha256="0" * 64, tracks=tracks,
                               psnr=29.1, params=100_000 * scale, runtime=0.004 * (3 - scale),
                               runtime_ratio=0.3 * (3 - scale), macs=5_000_000_000 * scale,
                               activations=40_000_000 * scale, peak_memory_bytes=300_000_000 * (3 - scale)))
    session.commit()
    return request.param, phase


def test_every_rule_kind_shows_the_same_ranks_and_rule_figures_everywhere(session, kind_phase):
    kind, phase = kind_phase
    slug = phase.competition.slug
    page = leaderboard_context(session, slug, phase.slug, None, None, None)
    api = json.loads(render_leaderboard(session, phase, None))
    exported = {fmt: export_leaderboard(session, phase, fmt).text for fmt in ("csv", "json")}
    csv_rows = list(csv.DictReader(io.StringIO(exported["csv"])))
    json_tracks = json.loads(exported["json"])["tracks"]
    checked = 0
    assert "Running time (ms)" in page["columns"]["runtime"][0]  # the NTIRE bundles print milliseconds
    for (track, page_rows), api_track, json_track in zip(page["tracks"], api["tracks"], json_tracks):
        assert json_track["labels"]["runtime"] == page["columns"]["runtime"][0]
        if track.kind != kind:
            continue
        text = {fmt: export_leaderboard(session, phase, fmt, track.slug).text for fmt in ("markdown", "table")}
        assert api_track["rule_columns"] == json_track["rule_columns"] == rule_columns(track.rule)
        api_rows = {r["team"]: r for r in api_track["rows"]}
        json_rows = {r["team"]: r for r in json_track["rows"]}
        csv_by_team = {r["team"]: r for r in csv_rows if r["track"] == track.slug}
        for row in page_rows:
            assert api_rows[row.team]["rank"] == json_rows[row.team]["rank"] == row.rank
            assert (api_rows[row.team]["params"], json_rows[row.team]["runtime"]) == (row.params, row.runtime)
            assert api_rows[row.team]["rule"] == row.rule
            cells = csv_by_team[row.team]
            assert (int(cells["rank"]) if cells["rank"] else None) == row.rank
            if "score" in row.rule:
                assert json_rows[row.team]["score"] == row.rule["score"]
                assert (float(cells["score"]) if cells["score"] else None) == row.rule["score"]
            for fmt in ("markdown", "table"):
                line = next(x for x in text[fmt].splitlines() if x.lstrip("| ").startswith(row.team + " "))
                for value in row.rule.values():
                    assert _cell(value) in line
                assert f"{row.runtime * 1000:.2f}" in line
                assert (f"({row.rank})" if row.rank else "(−)") in line
            checked += 1
    assert checked >= 3  # two entries and the baseline on at least one track of the kind
    ranked = [row.team for _, rows in page["tracks"] for row in rows if row.rank == 1]
    assert ranked and all(team.startswith(kind) for team in ranked)  # never the unranked reference


def _cell(value):
    return "n/a" if value is None else (f"{value:,}" if isinstance(value, int) else f"{value:.4f}")
