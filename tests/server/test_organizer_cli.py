"""Organizer commands in-process on a fresh embedded deployment (SQLite + filesystem broker, no
worker): every message a command queues stays in the broker folder, where ``status`` counts it."""

import csv
import io
import json
import socket

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.stack import BUNDLE
from server.db import get_sessionmaker
from server.models import BaselineRecord, BaselineStatus, Phase, ScoringRun, Submission, utcnow
from server.services.organizers import organizer_for_token
from server.services.runs import claim_run, complete_run
from server.services.submissions import add_scoring_run, new_public_id
from server.services.teams import create_team, team_for_token

REPORT_CSV = BUNDLE.parents[1] / "tests" / "data" / "aim2019_test_phase.csv"


def session() -> Session:
    return get_sessionmaker()()


def queued_submission(team_name: str = "alpha") -> tuple[str, int]:
    """A results submission waiting for a worker, as an upload leaves it (no file needed here)."""
    with session() as db:
        phase = db.scalar(select(Phase).where(Phase.slug == "validation"))
        team, _token = create_team(db, team_name)
        submission = Submission(public_id=new_public_id(), phase=phase, team=team, kind="results",
                                filename="a.zip", file_size=1, file_sha256="0" * 64, tracks=["psnr"])
        db.add(submission)
        run = add_scoring_run(db, submission, "team:alpha")
        db.commit()
        return submission.public_id, run.id


def waiting(cli) -> dict[str, int]:
    return {q["name"]: q["waiting"] for q in json.loads(cli("status", "--json").stdout)["queues"]}


def test_organizer_tokens_are_their_own_kind(cli):
    token = cli("organizer", "create", "ops").stdout.strip().splitlines()[-1]
    assert token.startswith("sro_")
    assert "already exists" in cli.said("organizer", "create", "ops")
    with session() as db:
        assert organizer_for_token(db, token).name == "ops"
        assert team_for_token(db, token) is None
    cli("organizer", "revoke", "ops")
    with session() as db:
        assert organizer_for_token(db, token) is None
    assert json.loads(cli("organizer", "list", "--json").stdout)[0]["revoked_at"] is not None
    fresh = cli("organizer", "create", "ops").stdout.strip().splitlines()[-1]
    assert fresh != token
    assert "no organizer" in cli.said("organizer", "revoke", "nobody")


def test_team_disable_and_enable(cli):
    token = cli("team", "create", "alpha").stdout.strip().splitlines()[-1]
    cli("team", "disable", "alpha")
    with session() as db:
        assert team_for_token(db, token) is None
        assert organizer_for_token(db, token) is None
    cli("team", "enable", "alpha")
    with session() as db:
        assert team_for_token(db, token).name == "alpha"
    assert "no team 'beta'" in cli.said("team", "disable", "beta")


def test_phase_open_close_and_limits(cli):
    cli("phase", "close", "aim2019/validation")
    cli("phase", "set-limits", "aim2019/validation", "--per-day", "5", "--total", "20")
    shown = json.loads(cli("competition", "show", "aim2019", "--json").stdout)
    validation = next(p for p in shown["phases"] if p["slug"] == "validation")
    assert (validation["is_open"], validation["max_submissions_per_day"], validation["max_submissions_total"]) == (
        False, 5, 20)
    cli("phase", "open", "aim2019/validation")
    cli("phase", "set-limits", "aim2019/validation", "--per-day", "0")
    shown = json.loads(cli("competition", "show", "aim2019", "--json").stdout)
    validation = next(p for p in shown["phases"] if p["slug"] == "validation")
    assert (validation["is_open"], validation["max_submissions_per_day"], validation["max_submissions_total"]) == (
        True, None, 20)
    assert "no phase aim2019/nope" in cli.said("phase", "close", "aim2019/nope")
    assert "--per-day" in cli.said("phase", "set-limits", "aim2019/test")


def test_results_import_command(cli):
    summary = json.loads(cli("results", "import", "--phase", "aim2019/test", str(REPORT_CSV), "--json").stdout)
    assert summary["rows"] == 26 and "rainbow" in summary["teams_created"]
    listed = json.loads(cli("submission", "list", "--team", "rainbow", "--json").stdout)
    assert {s["kind"] for s in listed} == {"imported"} and len(listed) == 3
    assert "already imported" in cli.said("results", "import", "--phase", "aim2019/test", str(REPORT_CSV))
    assert "no uploaded submissions to rescore" in cli.said("rescore", "--team", "rainbow")


def test_rescore_queues_once_and_cancel_stops_a_late_result(cli):
    public_id, run_id = queued_submission()
    first = json.loads(cli("rescore", "--submission", public_id, "--json").stdout)
    assert first[0]["already_pending"] and first[0]["run"]["id"] == run_id
    assert waiting(cli) == {"scoring": 0, "gpu": 0}, "a pending run is not queued again"

    with session() as db:
        assert claim_run(db, run_id, worker="w1")
    cancelled = json.loads(cli("submission", "cancel", public_id, "--reason", "duplicate entry", "--json").stdout)
    assert (cancelled["status"], cancelled["reason"]) == ("cancelled", "duplicate entry")
    assert [r["status"] for r in cancelled["runs"]] == ["cancelled"]
    with session() as db:
        run = db.get(ScoringRun, run_id)
        assert not complete_run(db, run, {"psnr": 30.0}, {}, {}, "late"), "a cancelled run cannot complete"
        assert db.get(Submission, run.submission_id).status == "cancelled"
    assert "only a submitted or running one" in cli.said("submission", "cancel", public_id)
    assert "was cancelled" in cli.said("rescore", "--submission", public_id)
    assert json.loads(cli("submission", "list", "--status", "cancelled", "--json").stdout)[0]["id"] == public_id


def test_rescore_of_a_finished_submission_queues_a_new_run(cli):
    public_id, run_id = queued_submission()
    with session() as db:
        claim_run(db, run_id, worker="w1")
        complete_run(db, db.get(ScoringRun, run_id), {"psnr": 29.5}, {}, {}, "scored")
    items = json.loads(cli("rescore", "--team", "alpha", "--phase", "aim2019/validation", "--json").stdout)
    assert [(i["already_pending"], i["run"]["attempt"], i["run"]["requested_by"], i["old"]["psnr"])
            for i in items] == [(False, 2, "organizer:cli", 29.5)]
    assert waiting(cli) == {"scoring": 1, "gpu": 0}
    again = json.loads(cli("rescore", "--team", "alpha", "--json").stdout)
    assert again[0]["already_pending"] and again[0]["run"]["id"] == items[0]["run"]["id"]
    assert waiting(cli) == {"scoring": 1, "gpu": 0}
    shown = json.loads(cli("submission", "show", public_id, "--json").stdout)
    assert (shown["status"], shown["figures"]["psnr"], len(shown["runs"])) == ("scored", 29.5, 2)
    assert shown["runs"][0]["code_version"], "a claimed run records the scorer's version"
    status = json.loads(cli("status", "--json").stdout)
    assert status["broker"] == "filesystem" and status["ping_available"] is False
    assert [w["name"] for w in status["workers"]] == ["w1"]


@pytest.mark.parametrize(("args", "message"), [
    (("rescore", "--team", "nobody"), "no team 'nobody'"),
    (("rescore", "--phase", "aim2019/nope", "--all"), "no phase aim2019/nope"),
    (("rescore", "--all"), "give --phase"),
    (("rescore",), "say whose submissions"),
    (("submission", "show", "nope"), "no submission 'nope'"),
    (("rescore", "--team", "x", "--server", "http://127.0.0.1:9"), "--server needs --token"),
])
def test_bad_requests_fail_with_one_clear_line(cli, args, message):
    assert message in cli.said(*args)


def test_baseline_measure_goes_to_the_gpu_queue(cli, tmp_path):
    assert "no LR inputs" in cli.said("baseline", "measure", "--phase", "aim2019/test")
    with session() as db:
        db.scalar(select(Phase).where(Phase.slug == "test")).image_count = 4
        db.commit()
    cli("baseline", "measure", "--phase", "aim2019/test")
    assert waiting(cli) == {"scoring": 0, "gpu": 1}


def test_submit_names_a_malformed_phase(cli, tmp_path):
    """--phase aim2019 (no phase part) said "405 Method Not Allowed"; nothing is sent."""
    upload = tmp_path / "r.zip"
    upload.write_bytes(b"PK")
    said = cli.said("submit", "--phase", "aim2019", "--token", "t", "--server", "http://127.0.0.1:9", str(upload))
    assert "--phase must be COMPETITION/PHASE" in said and "'aim2019'" in said


def test_serve_on_a_busy_port_says_which_port(cli):
    """Was uvicorn's "[Errno 98] error while attempting to bind on address" and a log line."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        said = cli.said("serve", "--port", str(port), "--no-migrate")
    assert f"port {port} on 127.0.0.1 is in use" in said


def test_team_create_from_a_csv_prints_tokens_as_csv_or_json(cli, tmp_path):
    names = tmp_path / "teams.csv"
    names.write_text("name,affiliation\nalpha,Uni A\n\n beta ,Lab B\n")
    rows = list(csv.reader(io.StringIO(cli("team", "create", "--csv", str(names)).stdout)))
    assert rows[0] == ["team", "token"] and [r[0] for r in rows[1:]] == ["alpha", "beta"]
    with session() as db:
        assert [team_for_token(db, token).name for _, token in rows[1:]] == ["alpha", "beta"]
    more = tmp_path / "more.csv"
    more.write_text("gamma\ndelta\n")
    created = json.loads(cli("team", "create", "--csv", str(more), "--json").stdout)
    assert [entry["team"] for entry in created] == ["gamma", "delta"]
    assert all(entry["token"].startswith("srt_") for entry in created)
    clash = tmp_path / "clash.csv"
    clash.write_text("epsilon\nalpha\n")
    assert "team 'alpha' already exists" in cli.said("team", "create", "--csv", str(clash))
    assert "epsilon" not in cli("team", "list").stdout, "a refused batch creates none of its teams"
    assert "give a team name or --csv" in cli.said("team", "create")


def test_tables_keep_whole_rows_when_piped(cli):
    """Piped output (a file, grep) was cut to 80 columns: cells wrapped or ended in '…'."""
    public_id, _ = queued_submission("a team with a rather long name, as real teams have")
    row = next(line for line in cli("submission", "list").stdout.splitlines() if public_id in line)
    assert "aim2019/validation" in row and "a team with a rather long name, as real teams have" in row
    assert "…" not in row


def test_status_counts_a_worker_busy_measuring_the_baseline(cli):
    """A worker timing the baseline for minutes has no scoring run: status said "no worker seen lately"."""
    assert "no worker seen lately" in cli("status").stdout
    with session() as db:
        phase = db.scalar(select(Phase).where(Phase.slug == "validation"))
        db.add(BaselineRecord(phase=phase, source="measure", status=BaselineStatus.RUNNING, actor="cli:alice",
                              started_at=utcnow(), worker="gpu-7@vm"))
        db.commit()
    assert [w["name"] for w in json.loads(cli("status", "--json").stdout)["workers"]] == ["gpu-7@vm"]
    shown = cli("status").stdout
    assert "no worker seen lately" not in shown and "gpu-7@vm" in shown
