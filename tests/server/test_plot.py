"""The Pareto plot: a pure function of leaderboard rows, checked by parsing the SVG it returns."""

import math
import xml.etree.ElementTree as ET

import pytest

from scoring.ranking import BaselineFigures, Entry, Tolerances, TrackRule, rank_track
from server.services.plot import LABEL_CHAR_WIDTH, LABEL_HEIGHT, distinct_rows, pareto_svg, plottable

SVG = "{http://www.w3.org/2000/svg}"
BASELINE = BaselineFigures(psnr=28.70, params=1_517_571, runtime=0.130)
TRACK = TrackRule("psnr", "Fidelity", "psnr", ("params", "runtime"))


def rows(*entries: Entry):
    return rank_track(entries, TRACK, BASELINE, Tolerances(0.01, 1.1, 0))


def entry(team: str, psnr: float, params: int, runtime: float, sid: str | None = None) -> Entry:
    return Entry(team=team, track="psnr", psnr=psnr, params=params, runtime=runtime, submission_id=sid or team)


def markers(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {group.find(f"{SVG}text").text: group.find(f"{SVG}circle")
            for group in root.iter(f"{SVG}g") if "point" in group.get("class", "")}


def test_one_marker_per_row_with_area_proportional_to_params():
    board = rows(entry("small", 28.9, 300_000, 0.05), entry("big", 29.1, 1_200_000, 0.1),
                 entry("slow", 28.8, 600_000, 0.5))
    found = markers(pareto_svg(board))
    assert sorted(found) == ["Baseline", "big", "slow", "small"]
    area_per_param = {team: math.pi * float(c.get("r")) ** 2 / int(c.get("data-params")) for team, c in found.items()}
    assert max(area_per_param.values()) == pytest.approx(min(area_per_param.values()), rel=1e-3)
    assert found["Baseline"].get("r") == "20.000"


def test_baseline_lines_cross_at_the_baseline_marker():
    root = ET.fromstring(pareto_svg(rows(entry("a", 30.0, 500_000, 0.05), entry("b", 27.0, 900_000, 0.3))))
    lines = {line.get("class"): line for line in root.iter(f"{SVG}line") if "baseline-line" in line.get("class")}
    horizontal, vertical = lines["baseline-line baseline-psnr"], lines["baseline-line baseline-runtime"]
    baseline = markers(ET.tostring(root, encoding="unicode"))["Baseline"]
    assert horizontal.get("y1") == horizontal.get("y2") == baseline.get("cy")
    assert vertical.get("x1") == vertical.get("x2") == baseline.get("cx")


def test_higher_psnr_is_up_and_faster_is_left():
    found = markers(pareto_svg(rows(entry("a", 30.0, 500_000, 0.05), entry("b", 27.0, 900_000, 0.3))))
    assert float(found["a"].get("cy")) < float(found["Baseline"].get("cy")) < float(found["b"].get("cy"))
    assert float(found["a"].get("cx")) < float(found["Baseline"].get("cx")) < float(found["b"].get("cx"))


def test_team_names_are_escaped():
    svg = pareto_svg(rows(entry('<script>alert("x")</script> & co', 29.0, 500_000, 0.05)))
    assert "<script>" not in svg
    assert '<script>alert("x")</script> & co' in markers(svg)


def test_rows_without_figures_are_left_out():
    board = rows(entry("ok", 29.0, 500_000, 0.05), Entry(team="no runtime", track="psnr", psnr=29.5,
                                                          params=400_000, runtime=None, submission_id="x"))
    assert sorted(markers(pareto_svg(board))) == ["Baseline", "ok"]
    assert pareto_svg([]) == ""


def test_a_submission_standing_on_several_tracks_is_one_point_ranked_if_ranked_anywhere():
    fast = entry("fast", 28.0, 500_000, 0.05, sid="s1")
    other_track = TrackRule("runtime", "Runtime", "runtime", ("params", "psnr"))
    on_runtime = rank_track([Entry(**{**fast.__dict__, "track": "runtime"})], other_track, BASELINE,
                            Tolerances(2.0, 1.1, 0))
    merged = distinct_rows([*rows(fast), *on_runtime])
    assert [r.entry.team for r in merged].count("fast") == 1
    assert [r.entry.team for r in merged].count("Baseline") == 1
    assert next(r for r in merged if r.entry.team == "fast").rank is not None


def test_a_zero_parameter_entry_is_plotted_and_not_counted_as_missing():
    """It was left out (and the page's footnote counted it as "without parameter count")."""
    board = rows(entry("lookup table", 28.9, 0, 0.01), entry("ok", 29.0, 500_000, 0.05))
    zero = next(r for r in board if r.entry.team == "lookup table")
    assert plottable(zero, BASELINE.runtime)
    found = markers(pareto_svg(board))
    assert float(found["lookup table"].get("r")) > 0
    assert float(markers(pareto_svg(rows(entry("only zero", 28.9, 0, 0.01))))["only zero"].get("r")) > 0


def test_labels_of_clustered_entries_do_not_overlap():
    board = rows(*(entry(f"team {i}", 29.0 + i * 0.001, 500_000, 0.05 + i * 0.0001) for i in range(6)))
    root = ET.fromstring(pareto_svg(board))
    labels = [(float(t.get("x")), float(t.get("y")), len(t.text)) for t in root.iter(f"{SVG}text")
              if t.get("class") == "label"]
    assert len(labels) == 7
    for i, (x1, y1, n1) in enumerate(labels):
        for x2, y2, n2 in labels[i + 1:]:
            side_by_side = x1 + n1 * LABEL_CHAR_WIDTH <= x2 or x2 + n2 * LABEL_CHAR_WIDTH <= x1
            assert side_by_side or abs(y1 - y2) >= LABEL_HEIGHT, (x1, y1, x2, y2)


def test_a_re_run_is_placed_by_its_same_job_ratio_not_its_seconds():
    """A code re-run timed on a CPU (1.3 s; the baseline 1.44 s in the same job: 0.9×) was drawn right
    of the baseline's 0.130 GPU seconds while its ratio ranked it as faster."""
    cpu = Entry(team="cpu", track="psnr", psnr=28.9, params=500_000, runtime=1.3, runtime_ratio=0.9,
                submission_id="cpu")
    svg = pareto_svg(rows(cpu, entry("slow", 28.8, 600_000, 0.26)))
    found = markers(svg)
    assert float(found["cpu"].get("cx")) < float(found["Baseline"].get("cx")) < float(found["slow"].get("cx"))
    assert "0.90× the baseline's runtime (1.300 s)" in found["cpu"].find(f"{SVG}title").text
    assert "Runtime / baseline (×)" in svg
