"""The leaderboard is cached per version of the board: reused while nothing changed, rebuilt as soon
as a run is queued or finishes, an entry is chosen, or the phase's ranking settings change."""

from server.models import Submission
from server.services.competitions import get_phase_by_path
from server.services.entries import choose_entry
from server.services.leaderboard import phase_leaderboard
from server.services.results_import import import_results
from server.services.runs import claim_run, complete_run
from server.services.submissions import add_scoring_run
from server.services.teams import create_team
from tests.server.test_results_import import REPORT_CSV


def psnr_rows(session, phase):
    return next(board.rows for board in phase_leaderboard(session, phase) if board.track.slug == "psnr")


def scored(session, phase, team, public_id, db):
    submission = Submission(public_id=public_id, phase=phase, team=team, kind="results", status="submitted",
                            filename="r.zip", file_size=1, file_sha256="0" * 64, tracks=["psnr"])
    session.add(submission)
    run = add_scoring_run(session, submission, "upload")
    session.commit()
    assert claim_run(session, run.id, worker="test")
    figures = {"psnr": db, "params": 1_000_000, "runtime": 0.1, "runtime_baseline": 0.13, "runtime_ratio": 0.1 / 0.13}
    assert complete_run(session, run, figures, {}, {}, "")
    return submission


def test_reused_while_nothing_changes_and_rebuilt_when_something_does(session):
    phase = get_phase_by_path(session, "aim2019/test")
    import_results(session, phase, REPORT_CSV.read_text(), REPORT_CSV.name)
    first = psnr_rows(session, phase)
    assert psnr_rows(session, phase) is first

    team, _ = create_team(session, "newcomer")
    best = scored(session, phase, team, "n1", 40.0)
    rows = psnr_rows(session, phase)
    assert rows[0].entry.team == "newcomer" and rows[0].entry.psnr == 40.0

    scored(session, phase, team, "n2", 35.0)  # the latest submission stands by default
    assert psnr_rows(session, phase)[0].entry.psnr != 40.0
    choose_entry(session, team, phase, "psnr", best.public_id)
    session.commit()
    assert psnr_rows(session, phase)[0].entry.psnr == 40.0

    before = psnr_rows(session, phase)
    phase.baseline_psnr = 28.0
    session.commit()
    assert psnr_rows(session, phase) is not before


def test_a_queued_rescore_is_seen_when_it_finishes(session):
    phase = get_phase_by_path(session, "aim2019/test")
    team, _ = create_team(session, "rescored")
    submission = scored(session, phase, team, "r1", 30.0)
    assert psnr_rows(session, phase)[0].entry.psnr == 30.0
    run = add_scoring_run(session, submission, "organizer")
    session.commit()
    assert psnr_rows(session, phase)[0].entry.psnr == 30.0  # old figures stay until the rescore finishes
    assert claim_run(session, run.id, worker="test")
    figures = {"psnr": 31.0, "params": 1_000_000, "runtime": 0.1, "runtime_baseline": 0.13, "runtime_ratio": 0.77}
    assert complete_run(session, run, figures, {}, {}, "")
    assert psnr_rows(session, phase)[0].entry.psnr == 31.0
