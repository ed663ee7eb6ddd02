"""Entries held for organizer review of the numbers they store outside parameters: unranked with
the remark until approved, rejected with a reason, every step in the submission's history; the
figures are shown to the team, on the board and in exports. SQLite and PostgreSQL."""

import pytest
import yaml

from scoring.export import read_entries_csv, render_track
from server.bundle import BundleError, load_bundle, shipped_bundle_path
from server.models import Submission
from server.schemas import SubmissionOut
from server.schemas_admin import AdminSubmissionOut
from server.services.competitions import get_phase_by_path
from server.services.errors import Conflict, ServiceError
from server.services.leaderboard import phase_leaderboard
from server.services.review import decide
from server.services.runs import claim_run, complete_run
from server.services.submission_admin import list_submissions
from server.services.submissions import add_scoring_run
from server.services.teams import create_team

NOTHING = {"float": 0, "integer": 0}
BUFFER_WEIGHTS = {"buffers": {"float": 2_000_000, "integer": 0}, "constants": NOTHING,
                  "literals": {"float": 3, "integer": 40}, "value_literals": 3, "literal_information": 4,
                  "information": 1_850_000}
LITERAL_WEIGHTS = {"buffers": NOTHING, "constants": NOTHING, "literals": {"float": 1, "integer": 1_336},
                   "value_literals": 1_297, "literal_information": 620, "information": 0}
SWINIR_LIGHT = {"buffers": {"float": 3_145_728, "integer": 98_304}, "constants": NOTHING,
                "literals": {"float": 180, "integer": 2_400}, "value_literals": 279, "literal_information": 20,
                "information": 800}


@pytest.fixture
def session(session_on_both):
    return session_on_both


def code_entry(session, team_name: str, stored: dict, params: int = 0) -> Submission:
    """A code submission scored with these stored-number figures, better than the baseline otherwise."""
    phase = get_phase_by_path(session, "aim2019/test")
    team, _ = create_team(session, team_name)
    submission = Submission(public_id=f"id-{team_name}", phase=phase, team=team, kind="code", status="submitted",
                            filename="code.zip", file_size=1, file_sha256="0" * 64, tracks=["params"])
    session.add(submission)
    rescore(session, submission, stored, params)
    return submission


def rescore(session, submission: Submission, stored: dict, params: int = 0) -> None:
    run = add_scoring_run(session, submission, "upload")
    session.commit()
    assert claim_run(session, run.id, worker="test")
    figures = {"psnr": 29.0, "params": params, "runtime": 0.05, "runtime_baseline": 0.13, "runtime_ratio": 0.4,
               "stored": stored}
    assert complete_run(session, run, figures, {}, {}, "")


def params_rows(session):
    phase = get_phase_by_path(session, "aim2019/test")
    return next(board.rows for board in phase_leaderboard(session, phase) if board.track.slug == "params")


def row_of(session, team: str):
    return next(row for row in params_rows(session) if row.entry.team == team)


def test_weights_in_buffers_are_held_unranked_until_approved(session):
    submission = code_entry(session, "buffers", BUFFER_WEIGHTS)
    row = row_of(session, "buffers")
    assert row.rank is None
    assert row.reason.startswith("held for organizer review: buffers and constant tensors hold 2,000,000 numbers")
    assert (row.entry.stored_numbers, row.entry.literals) == (2_000_000, 43)
    shown = SubmissionOut.of(submission)  # what GET /submissions/{id} returns to the team
    assert (shown.status, shown.review, shown.stored) == ("scored", "held", BUFFER_WEIGHTS)
    assert "2,000,000" in shown.review_note

    assert [s.public_id for s in list_submissions(session, review="held")] == [submission.public_id]
    decide(session, submission.public_id, "approved", "index tables, checked by hand", "alice")
    assert list_submissions(session, review="held") == []
    row = row_of(session, "buffers")
    assert row.rank == 1 and row.reason is None
    history = AdminSubmissionOut.of(submission, with_runs=True).reviews
    assert [(d.decision, d.decided_by) for d in history] == [("held", "platform"), ("approved", "organizer:alice")]
    assert history[1].reason == "index tables, checked by hand"


def test_a_rejected_entry_stays_unranked_with_the_reason(session):
    submission = code_entry(session, "literals", LITERAL_WEIGHTS)
    assert "1,297 numbers written into it as literals" in row_of(session, "literals").reason
    with pytest.raises(ServiceError, match="needs a reason"):
        decide(session, submission.public_id, "rejected", "  ", "alice")
    decide(session, submission.public_id, "rejected", "weights written into the graph", "alice")
    row = row_of(session, "literals")
    assert row.rank is None and row.reason == "rejected by the organizers: weights written into the graph"
    assert SubmissionOut.of(submission).review == "rejected"
    rescore(session, submission, LITERAL_WEIGHTS)  # the decision belongs to the submission: a rescore keeps it
    assert row_of(session, "literals").reason == "rejected by the organizers: weights written into the graph"
    assert [d.decision for d in submission.reviews] == ["held", "rejected"]


def test_an_honest_model_with_index_buffers_and_masks_is_ranked(session):
    submission = code_entry(session, "swinir", SWINIR_LIGHT, params=878_000)
    row = row_of(session, "swinir")
    assert row.rank == 1 and row.entry.stored_numbers == 3_244_032
    assert submission.review is None and submission.reviews == []
    with pytest.raises(Conflict, match="not held for review"):
        decide(session, submission.public_id, "approved", "", "alice")


def test_exports_carry_the_stored_numbers_and_the_remark(session):
    code_entry(session, "buffers", BUFFER_WEIGHTS)
    phase = get_phase_by_path(session, "aim2019/test")
    board = next(b for b in phase_leaderboard(session, phase) if b.track.slug == "params")
    rule = board.track.rule
    csv_text = render_track(board.rows, rule, "csv")
    entry = next(e for e in read_entries_csv(csv_text) if e.team == "buffers")
    assert entry.stored_numbers == 2_000_000 and entry.held.startswith("held for organizer review")
    assert "held for organizer review" in render_track(board.rows, rule, "table")


def test_the_bundle_sets_the_limits(session):
    competition = get_phase_by_path(session, "aim2019/test").competition
    review = {"non_parameter_storage": 2_000_000, "literal_information": 40}
    competition.bundle = {**competition.bundle, "review": review}
    session.commit()
    assert code_entry(session, "lenient", BUFFER_WEIGHTS).review is None


@pytest.mark.parametrize("review", [{"literal_informaton": 10}, {"value_literals": 256}, {"literal_information": -1}])
def test_a_misspelt_or_negative_review_limit_is_refused_when_the_bundle_loads(review, tmp_path):
    bundle = yaml.safe_load(shipped_bundle_path().read_text())
    (tmp_path / "bundle.yaml").write_text(yaml.safe_dump({**bundle, "review": review}))
    with pytest.raises(BundleError, match="review"):
        load_bundle(tmp_path / "bundle.yaml")
