"""The bounds of scoring/bounds.py fit the database: figures at every bound save on SQLite and
PostgreSQL (past them a save overflowed, or PostgreSQL refused NaN in the figures' JSON)."""

from server.models import ScoringRun
from server.services.runs import claim_run, complete_run
from tests.scoring.test_bounds import AT_THE_BOUNDS
from tests.server.test_run_deliveries import queued_run


def test_figures_at_their_bounds_are_saved(session_on_both):
    db = session_on_both
    run = queued_run(db)
    delivery = claim_run(db, run.id, worker="w1")
    self_reported = {"self_params": AT_THE_BOUNDS["params"], "self_runtime": AT_THE_BOUNDS["runtime"],
                     "gpu": "g" * 100}
    assert complete_run(db, run, AT_THE_BOUNDS, {"0801": (100.0, True)}, self_reported, "", delivery=delivery)
    db.expire_all()
    saved = db.get(ScoringRun, run.id)
    assert saved.figures == AT_THE_BOUNDS
    assert (saved.submission.macs, saved.submission.params, saved.submission.self_params) == (
        AT_THE_BOUNDS["macs"], AT_THE_BOUNDS["params"], AT_THE_BOUNDS["params"])
