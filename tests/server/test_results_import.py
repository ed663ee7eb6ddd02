"""Importing the AIM 2019 report's entries into a fresh deployment reproduces Tables 1–3 through
the real path: migrated database, shipped bundle, import service, leaderboard service."""

from pathlib import Path

import pytest
from sqlalchemy import select

from server.bundle import load_bundle
from server.models import ScoringRun, Submission
from server.services.baseline import set_baseline
from server.services.competitions import create_competition, get_phase_by_path
from server.services.errors import ServiceError
from server.services.leaderboard import phase_leaderboard
from server.services.results_import import import_results
from tests.scoring.test_ranking import REPORT
from tests.server.test_bundle_rules import COMPETITIONS, board, ntire2026_table

REPORT_CSV = Path(__file__).resolve().parents[1] / "data" / "aim2019_test_phase.csv"


def import_report(session):
    phase = get_phase_by_path(session, "aim2019/test")
    return phase, import_results(session, phase, REPORT_CSV.read_text(), REPORT_CSV.name)


def test_imported_report_reproduces_tables_1_to_3(session):
    phase, summary = import_report(session)
    assert summary.rows == 26 and len(summary.teams_created) == 10
    boards = {board.track.slug: [(row.entry.team, row.rank) for row in board.rows]
              for board in phase_leaderboard(session, phase)}
    assert set(boards) == set(REPORT)
    for track, table in REPORT.items():
        ranked = [row for row in table if row[1] is not None]
        assert boards[track][: len(ranked)] == ranked, track
        assert set(boards[track][len(ranked):]) == set(table[len(ranked):]), track
    assert boards["runtime"] == REPORT["runtime"] and boards["psnr"] == REPORT["psnr"]


def test_each_row_is_a_scored_imported_submission_with_its_history(session):
    _phase, summary = import_report(session)
    submissions = list(session.scalars(select(Submission)))
    assert len(submissions) == 26 == len(summary.submissions)
    assert {s.kind for s in submissions} == {"imported"} and {s.status for s in submissions} == {"scored"}
    assert all(len(s.tracks) == 1 for s in submissions)
    runs = list(session.scalars(select(ScoringRun)))
    assert {r.requested_by for r in runs} == {"import"} and all(r.code_version for r in runs)
    assert all(s.current_run_id == s.runs[0].id for s in submissions)


def test_a_bad_row_imports_nothing_and_names_its_line(session):
    phase = get_phase_by_path(session, "aim2019/test")
    text = "team,track,psnr,params,runtime\na,params,28.8,900000,0.1\nb,speed,28.8,900000,0.1\n"
    with pytest.raises(ServiceError, match="line 3: unknown track 'speed'"):
        import_results(session, phase, text, "bad.csv")
    assert session.scalar(select(Submission.id)) is None


@pytest.mark.parametrize(("text", "message"), [
    ("team,track,psnr,params\n", "missing runtime"),
    ("team,track,psnr,params,runtime,rank\n", "unknown: rank"),
    ("team,track,psnr,params,runtime\n", "no rows"),
    ("team,track,psnr,params,runtime\na,psnr,fast,1,0.1\n", "line 2, column psnr"),
    ("team,track,psnr,params,runtime\na,psnr,28,1,0.1\na,psnr,29,1,0.1\n", "line 3: a second row"),
    ("team,track,psnr,params,runtime\na,psnr,nan,1,0.1\n", r"line 2: the PSNR \(dB\) is nan"),
    ("team,track,psnr,params,runtime\na,psnr,28,1,0.1\nb,psnr,28,100000000000000000000,0.1\n",
     "line 3: the parameter count is 100,000,000,000,000,000,000"),
    ("team,track,psnr,params,runtime,activations\na,psnr,28,1,0.1,10000000000000000000\n",
     r"line 2: the number of activations \(elements"),  # past 64 bits: PostgreSQL's BIGINT refused it, a 500
    ("team,track,psnr,params,runtime,macs\na,psnr,28,1,0.1,-5\n", r"line 2: the number of MACs"),
])
def test_malformed_csv_is_refused_with_a_reason(session, text, message):
    with pytest.raises(ServiceError, match=message):
        import_results(session, get_phase_by_path(session, "aim2019/test"), text, "bad.csv")


def test_the_same_file_twice_is_refused(session):
    import_report(session)
    with pytest.raises(ServiceError, match="already imported"):
        import_report(session)


def test_ntire2026_published_figures_imported_rank_as_the_pure_rule_ranks_them(session):
    """The organizers' results.txt (tests/data/ntire2026_esr_results.csv) through the import service into
    the shipped NTIRE 2026 bundle: the board ranks as the pure rule does on the same figures
    (tests/server/test_bundle_rules.py), with MACs, activations and memory imported."""
    table = ntire2026_table()
    base = next(r for r in table if r["model"] == "00_SPAN")
    loaded = load_bundle(COMPETITIONS / "ntire2026-esr.yaml")
    phase = next(p for p in create_competition(session, loaded).phases if p.slug == "test")
    set_baseline(session, phase, "test", runtime=float(base["ave_time_ms"]) / 1000)
    lines = ["team,track,psnr,params,runtime,macs,activations,peak_memory_bytes"]
    entries = []
    for r in table:
        if r is base:
            continue
        figures = dict(team=r["model"], psnr=float(r["test_psnr"]), params=round(float(r["params_m"]) * 1e6),
                       runtime=float(r["ave_time_ms"]) / 1000, macs=round(float(r["flops_g"]) * 1e9),
                       activations=round(float(r["acts_m"]) * 1e6), peak_memory_bytes=round(float(r["mem_mb"]) * 2**20))
        entries.append(figures)
        lines += [",".join(str(v) for v in (figures["team"], t.slug, *list(figures.values())[1:]))
                  for t in loaded.tracks]
    import_results(session, phase, "\n".join(lines) + "\n", "ntire2026_results.csv")
    imported = {b.track.slug: [(row.entry.team, row.rank) for row in b.rows] for b in phase_leaderboard(session, phase)}
    pure = board(loaded, "test", entries, runtime=float(base["ave_time_ms"]) / 1000, psnr=phase.baseline_psnr)
    for track, rows in imported.items():
        ranked = sorted((r.rank, t) for t, r in pure[track].items() if r.rank)
        assert [(t, rank) for t, rank in rows if rank] == [(t, rank) for rank, t in ranked], track
        assert {t for t, rank in rows if rank is None} == {"Baseline", "009_RFDN_SPAN", "21_SAFMN"}, track
    [row] = [r for b in phase_leaderboard(session, phase) for r in b.rows if b.track.slug == "overall"
             and r.entry.team == "22_SPANV2_ESR_C2"]
    assert (row.entry.macs, row.entry.activations) == (1_590_000_000, 42_990_000)
