"""Exports: the report's table layout in Markdown and LaTeX, and CSV/JSON that keep every field."""

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from scoring.export import read_entries_csv, render_track, to_csv, to_latex, to_markdown, to_table
from scoring.ranking import BaselineFigures, Entry, Tolerances, TrackRule, rank_track

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = read_entries_csv((ROOT / "tests" / "data" / "aim2019_test_phase.csv").read_text())
BASELINE = BaselineFigures(psnr=28.70, params=1_517_571, runtime=0.130, gpu="Titan Xp", extra_data=True)
TOLERANCES = Tolerances(psnr_db=0.01, runtime_ratio=1.1, params=0)
TRACK_1 = TrackRule("params", "Track 1: Parameters", "params", ("psnr", "runtime"))
TRACK_3 = TrackRule("psnr", "Track 3: Fidelity", "psnr", ("params", "runtime"))
TABLE_1 = rank_track(ENTRIES, TRACK_1, BASELINE, TOLERANCES)


def test_latex_follows_the_reports_table_1():
    latex = to_latex(TABLE_1, TRACK_1)
    assert r"rainbow & 28.78 & 893,936(1) & 0.055 & 0.039 & 0.091 & RTX 2080Ti & Yes \\" in latex
    assert r"Baseline & 28.70 & 1,517,571(6) & 0.130 & 0.130 & 0.130 & Titan Xp & Yes \\" in latex
    assert "852,874(−)" in latex
    assert r"\caption{Track 1: Parameters}" in latex
    assert "Running time (s) of MSRResNet" in latex


def test_latex_escapes_team_names():
    rows = rank_track([Entry("a_b & c%", "params", 28.8, 1, 0.1)], TRACK_1, BASELINE, TOLERANCES)
    assert r"a\_b \& c\%" in to_latex(rows, TRACK_1)


def test_markdown_marks_the_ranked_figure_on_the_psnr_track():
    markdown = to_markdown(rank_track(ENTRIES, TRACK_3, BASELINE, TOLERANCES), TRACK_3).splitlines()
    assert markdown[0].startswith("| Team | PSNR | Number of parameters |")
    assert markdown[1] == "| :--- | ---: | ---: | ---: | ---: | ---: | :--- | :--- |"
    assert markdown[2] == "| krahaon ai cv | 28.84(1) | 1,461,735 | 0.117 | 0.110 | 0.112 | Titan Xp | Yes |"
    table = [line for line in markdown if line.startswith("|")]
    assert table[-1] == "| GUET-HMI | 28.54(−) | 536,005 | 0.290 | 0.399 | 0.579 | Tesla P100 | No |"


def test_markdown_and_latex_say_why_a_row_is_unranked_or_stale():
    """They dropped every reason: an unranked row read as a ranked one with a dash."""
    srstar = next(row for row in TABLE_1 if row.entry.team == "SRSTAR")
    stale = {"s-9": "scored on version 1 of the hidden set, now version 2: awaiting a rescore"}
    rows = [*TABLE_1, *rank_track([Entry("late", "params", 28.9, 1_000, 0.1, submission_id="s-9")], TRACK_1,
                                  BASELINE, TOLERANCES)[:1]]
    markdown = to_markdown(rows, TRACK_1, stale=stale)
    assert f"- SRSTAR: {srstar.reason}" in markdown.splitlines()
    assert f"- late: {stale['s-9']}" in markdown.splitlines()
    latex = to_latex(rows, TRACK_1, stale=stale)
    assert rf"SRSTAR: {srstar.reason}\\" in latex and rf"late: {stale['s-9']}\\" in latex
    assert latex.index(r"\end{tabular}") < latex.index("SRSTAR: ") < latex.index(r"\end{table}")
    assert "late" in to_table(rows, TRACK_1, stale=stale).splitlines()[-1].split("awaiting")[0]
    assert json.loads(render_track(rows, TRACK_1, "json", stale=stale))["rows"][-1]["stale"] == stale["s-9"]
    assert list(csv.DictReader(io.StringIO(to_csv(rows, stale))))[-1]["stale"] == stale["s-9"]


def test_plain_table_is_aligned_and_gives_reasons():
    lines = to_table(TABLE_1, TRACK_1).splitlines()
    assert lines[2].startswith("rainbow ")
    assert lines[0].endswith("Reason")
    assert "0.05 dB below the baseline's 28.70 dB" in next(line for line in lines if line.startswith("SRSTAR"))
    figure_ends = {line.index("(") + 2 for line in lines[2:8]}  # "(1)" .. "(6)" right-aligned together
    assert len(figure_ends) == 1


def test_missing_figures_print_as_not_available():
    rows = rank_track([Entry("gap", "params", None, 900_000, 0.1)], TRACK_1, BASELINE, TOLERANCES)
    assert "| gap | n/a | 900,000(−) | 0.100 | n/a | n/a | n/a | n/a |" in to_markdown(rows, TRACK_1)


def test_csv_round_trips_every_field():
    stamped = Entry(
        "team, with comma", "params", 28.755, 1_000_000, 0.1234567, runtime_ratio=0.97, params_self_reported=999_999,
        extra_data=False, description='says "hi"\nover two lines', submission_id="s-1",
        submitted_at=datetime(2019, 8, 20, 12, 30, tzinfo=timezone.utc), macs=27_033_648_384,
        peak_memory_bytes=512 << 20, device="CPU: Xeon, 2 cores", uses_gpu_self_reported=False,
    )
    rows = rank_track([*ENTRIES, stamped], TRACK_1, BASELINE, TOLERANCES)
    again = read_entries_csv(to_csv(rows))
    assert again == [row.entry for row in rows]
    assert to_csv(rank_track([e for e in again if not e.is_baseline], TRACK_1, BASELINE, TOLERANCES)) == to_csv(rows)


def test_csv_carries_rank_and_reason():
    lines = to_csv(TABLE_1).splitlines()
    assert lines[0].startswith("rank,team,track,psnr,params,runtime,") and lines[0].endswith(",reason")
    assert lines[1].startswith("1,rainbow,params,28.78,893936,0.055,")
    assert lines[-1].startswith(",neptuneai,") and "3.48×" in lines[-1]


def test_json_has_the_rule_and_every_row():
    document = json.loads(render_track(TABLE_1, TRACK_1, "json"))
    assert (document["track"], document["rank_by"], document["tie_break"]) == ("params", "params", ["psnr", "runtime"])
    first = document["rows"][0]
    assert {key: first[key] for key in ("rank", "team", "params", "reason")} == {
        "rank": 1, "team": "rainbow", "params": 893_936, "reason": None,
    }
    assert document["rows"][5]["is_baseline"] is True
    assert [row["rank"] for row in document["rows"]][-5:] == [None] * 5


def test_render_track_dispatches_and_refuses_unknown_formats():
    assert render_track(TABLE_1, TRACK_1, "markdown") == to_markdown(TABLE_1, TRACK_1)
    assert render_track(TABLE_1, TRACK_1, "csv") == to_csv(TABLE_1)
    with pytest.raises(ValueError, match="unknown export format"):
        render_track(TABLE_1, TRACK_1, "xlsx")


def test_reading_csv_reports_the_bad_cell():
    with pytest.raises(ValueError, match="line 2, column params"):
        read_entries_csv("team,track,params\nx,params,lots\n")
    with pytest.raises(ValueError, match="team and track"):
        read_entries_csv("team,trak\nx,params\n")


HOSTILE = ["=HYPERLINK(\"http://x\",\"win\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]


def test_csv_cells_cannot_start_a_spreadsheet_formula_and_still_round_trip():
    entries = [Entry(name, "params", 28.8, 1_000 + i, 0.1, description=name, gpu=name) for i, name in enumerate(HOSTILE)]
    rows = rank_track(entries, TRACK_1, BASELINE, TOLERANCES)
    text = to_csv(rows)
    cells = [cell for line in text.splitlines()[1:] for cell in line.split(",")]
    assert not any(cell.lstrip('"').startswith(("=", "+", "@")) for cell in cells), text
    assert not any(cell.lstrip('"').startswith("-2") for cell in cells), text
    assert [row.entry for row in rows] == read_entries_csv(text)


def test_markdown_carries_no_raw_html_from_team_text():
    rows = rank_track([Entry("<script>alert(1)</script>", "params", 28.8, 1_000, 0.1, gpu="<img src=x onerror=y>")],
                      TRACK_1, BASELINE, TOLERANCES)
    markdown = to_markdown(rows, TRACK_1)
    assert "<script>" not in markdown and "<img" not in markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown


def test_runtimes_print_in_the_bundles_unit_and_a_self_reported_phase_has_no_repeated_runtime_column():
    rows = rank_track([Entry("fast", "params", 28.8, 800_000, 0.0123, runtime_self_reported=0.0123,
                             runtime_baseline_self_reported=0.13)], TRACK_1, BASELINE, TOLERANCES)
    in_ms = to_markdown(rows, TRACK_1, "measured", "ms")
    assert "Running time (ms) by organizers" in in_ms and "| 12.30 |" in in_ms
    self_reported = to_markdown(rows, TRACK_1, "self_reported").splitlines()
    assert "by authors" not in self_reported[0]  # its ranked runtime is the authors' own: a second column repeated it
    assert self_reported[0].count("|") == self_reported[2].count("|")
