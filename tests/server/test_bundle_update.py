"""Applying an edited bundle: only what the file changed, refused whole where it would orphan data."""

from datetime import datetime, timezone

import pytest

from server.bundle import CompetitionBundle, load_bundle, shipped_bundle_path
from server.models import Submission, Team
from server.services.audit import audit_events
from server.services.baseline import set_baseline
from server.services.bundle_update import update_competition
from server.services.competitions import get_competition, get_phase_by_path
from server.services.errors import Conflict
from server.services.leaderboard import phase_leaderboard


def edited(**changes) -> dict:
    raw = load_bundle(shipped_bundle_path()).model_dump(mode="json")
    raw.update(changes)
    return raw


def apply(session, raw: dict, dry_run: bool = False) -> list[str]:
    return update_competition(session, CompetitionBundle.model_validate(raw), "cli:alice", dry_run=dry_run)


def test_an_unchanged_bundle_changes_nothing(session):
    assert apply(session, edited()) == []
    assert [e.action for e in audit_events(session, "aim2019")] == ["competition.create"]


def test_changes_are_applied_and_listed_and_a_cli_baseline_is_kept(session):
    validation = get_phase_by_path(session, "aim2019/validation")
    set_baseline(session, validation, "cli:bob", psnr=31.5)  # set since the bundle was applied
    session.commit()
    raw = edited(title="AIM 2019 (own photos)", tolerances={"psnr_db": 0.05, "runtime_ratio": 1.1, "params": 0})
    raw["phases"][1].update(baseline_psnr=28.0, closes_at="2026-12-24T12:00:00Z", max_submissions_per_day=3)
    raw["phases"].append({"slug": "final", "title": "Final phase", "baseline_psnr": 28.5, "baseline_runtime": 0.13})
    raw["tracks"][0]["title"] = "Track 1: Parameters (fewest)"
    assert apply(session, raw, dry_run=True)
    assert get_competition(session, "aim2019").title != raw["title"]
    lines = apply(session, raw)
    assert "title: 'AIM 2019 Challenge on Constrained Super-Resolution (x4)' → 'AIM 2019 (own photos)'" in lines
    assert any(line.startswith("phase test: closes_at None → '2026-12-24T12:00:00Z'") for line in lines)
    assert any(line.startswith("phase test: baseline psnr → 28.0") for line in lines)
    assert "phase final added (Final phase); import its hidden set next" in lines
    competition = get_competition(session, "aim2019")
    test = get_phase_by_path(session, "aim2019/test")
    assert competition.tolerances["psnr_db"] == 0.05 and test.max_submissions_per_day == 3
    assert test.closes_at == datetime(2026, 12, 24, 12, tzinfo=timezone.utc) and test.baseline_psnr == 28.0
    assert validation.baseline_psnr == 31.5  # the file did not touch it
    final = get_phase_by_path(session, "aim2019/final")
    assert [t.slug for t in final.tracks] == ["params", "runtime", "psnr"] and final.baseline_params == 1517571
    assert all(p.tracks[0].title == "Track 1: Parameters (fewest)" for p in competition.phases)
    event = audit_events(session, "aim2019")[0]
    assert event.action == "competition.update" and event.details["changes"] == lines
    assert apply(session, raw) == []


def test_what_would_orphan_data_is_refused_and_nothing_changes(session):
    test = get_phase_by_path(session, "aim2019/test")
    test.image_count = 4
    team = Team(name="alpha", token_hash="x" * 64)
    session.add(Submission(public_id="s1", phase=test, team=team, kind="results", status="scored", filename="a.zip",
                           file_size=1, file_sha256="0" * 64, tracks=["psnr"]))
    session.flush()
    raw = edited(title="changed too", scale=2)
    raw["phases"] = raw["phases"][:1]
    raw["tracks"] = raw["tracks"][:2]
    with pytest.raises(Conflict) as refused:
        apply(session, raw)
    message = refused.value.message
    assert "phase test holds 1 submission(s) and 4 image(s)" in message
    assert "track psnr holds 1 submission(s)" in message and "scale 4 → 2" in message
    assert get_competition(session, "aim2019").title != "changed too"
    assert [p.slug for p in get_competition(session, "aim2019").phases] == ["validation", "test"]


def test_a_tracks_rule_a_phases_threshold_and_the_baselines_figures_are_applied_and_rank(session):
    """An organizer turns AIM 2019's runtime track into a weighted score with a PSNR threshold."""
    raw = edited(baseline={"name": "MSRResNet", "scale": 4, "params": 1517571, "macs": 166_000_000_000},
                 baseline_ranked=False, display={"runtime_unit": "ms"})
    raw["tracks"][1].update(kind="weighted_score", rank_by=None, tie_break=[], weights={"runtime": 0.5, "macs": 0.5})
    raw["phases"][1]["psnr_threshold"] = 28.5
    lines = apply(session, raw)
    assert any(line.startswith("track runtime: kind 'bounded' → 'weighted_score'") for line in lines)
    assert any(line.startswith("phase test: psnr_threshold None → 28.5") for line in lines)
    assert any(line.startswith("display: ") for line in lines)
    competition = get_competition(session, "aim2019")
    assert (competition.baseline_macs, competition.baseline_ranked, competition.display) == (
        166_000_000_000, False, {"runtime_unit": "ms"})
    test = get_phase_by_path(session, "aim2019/test")
    track = next(t for t in test.tracks if t.slug == "runtime")
    assert (track.rule.kind, track.rule.weights, test.psnr_threshold) == ("weighted_score",
                                                                          {"runtime": 0.5, "macs": 0.5}, 28.5)
    board = next(b for b in phase_leaderboard(session, test) if b.track.slug == "runtime")
    [baseline] = [row for row in board.rows if row.entry.is_baseline]
    assert baseline.rank is None and baseline.score.total == pytest.approx(2.718281828 ** 2)
