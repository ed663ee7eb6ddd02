"""Every command that prints data takes ``--json`` and prints JSON, found by walking the typer app:
a new command without ``--json`` (or without a run below) fails here.

The runs go in-process against a fresh embedded deployment; ``submit`` talks to a real API
(uvicorn on loopback, in a thread) over the same database.
"""

import json

import numpy as np
import pytest
import typer
import yaml
from sqlalchemy import select

from bench.stack import BUNDLE, photo_like, png_bytes, zip_bytes
from server.cli import app
from server.db import get_sessionmaker
from server.models import Submission

REPORT_CSV = BUNDLE.parents[1] / "tests" / "data" / "aim2019_test_phase.csv"
EXEMPT = {
    "serve": "runs the API until stopped; prints logs, not data",
    "worker": "runs a Celery worker until stopped; prints logs, not data",
    "demo": "runs a whole deployment until stopped",
}


def commands(group=None, prefix: tuple[str, ...] = ()) -> dict:
    """Every leaf command of ``srchallenge``, by its words ("baseline set"). Typer builds on its
    own copy of click, so a group is told by its ``commands``, not by click's classes."""
    group = group or typer.main.get_command(app)
    found = {}
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found.update(commands(command, (*prefix, name)))
        else:
            found[" ".join((*prefix, name))] = command
    return found


def test_every_command_that_prints_data_takes_json():
    found = commands()
    assert {"baseline set", "phase schedule", "submit", "team list"} <= set(found), "the walk missed commands"
    missing = [name for name, command in sorted(found.items()) if name not in EXEMPT
               and not any("--json" in param.opts for param in command.params)]
    assert missing == [], f"commands without --json: {missing}"
    assert set(EXEMPT) <= set(found), "an exempt command no longer exists: drop it from EXEMPT"


def hold_for_review(public_id: str) -> None:
    with get_sessionmaker()() as db:
        db.scalar(select(Submission).where(Submission.public_id == public_id)).review = "held"
        db.commit()


def test_every_json_output_parses(cli, api, tmp_path):
    """Runs each command with --json in a workflow order and parses what it printed."""
    rng = np.random.default_rng(5)
    hr = {f"{801 + i:04d}": photo_like(rng, 32, 48) for i in range(2)}
    (tmp_path / "hr").mkdir()
    for key, image in hr.items():
        (tmp_path / "hr" / f"{key}.png").write_bytes(png_bytes(image))
    bundle = yaml.safe_load(BUNDLE.read_text()) | {"slug": "second", "title": "Second"}
    (tmp_path / "second.yaml").write_text(yaml.safe_dump(bundle))
    (tmp_path / "results.zip").write_bytes(zip_bytes({f"{key}.png": png_bytes(image) for key, image in hr.items()}))
    printed: dict[str, object] = {}

    def run(*args: str):
        words = next(name for name in sorted(commands(), key=len, reverse=True)
                     if tuple(args[:len(name.split())]) == tuple(name.split()))
        result = cli(*args, "--json")
        try:
            printed[words] = json.loads(result.stdout)
        except ValueError as err:
            pytest.fail(f"srchallenge {' '.join(args)} --json printed no JSON ({err}): {result.stdout!r}")
        return printed[words]

    assert run("db", "upgrade")["revision"]
    assert [p["slug"] for p in run("competition", "create", str(tmp_path / "second.yaml"))["phases"]] == [
        "validation", "test"]
    assert run("competition", "update", str(tmp_path / "second.yaml"))["changes"] == []
    assert [c["slug"] for c in run("competition", "list")] == ["aim2019", "second"]
    assert run("competition", "show", "aim2019")["slug"] == "aim2019"
    assert run("dataset", "import", "--phase", "aim2019/test", "--hr", str(tmp_path / "hr"))["images"] == 2
    first = run("team", "create", "alpha")["token"]
    assert run("team", "list") == [{"team": "alpha", "disabled": False}]
    token = run("team", "token", "alpha", "--rotate")["token"]
    assert token != first and token.startswith("srt_")
    assert run("team", "disable", "alpha")["disabled"] is True
    assert run("team", "enable", "alpha")["disabled"] is False
    assert run("organizer", "create", "ops")["token"].startswith("sro_")
    assert [o["name"] for o in run("organizer", "list")] == ["ops"]
    assert run("organizer", "revoke", "ops")["revoked_at"]
    assert run("phase", "close", "aim2019/validation")["state"] == "phase aim2019/validation is closed"
    assert run("phase", "open", "aim2019/validation")["state"] == "open"
    assert run("phase", "set-limits", "aim2019/test", "--per-day", "7")["max_submissions_per_day"] == 7
    scheduled = run("phase", "schedule", "aim2019/test", "--closes", "2999-01-01T00:00:00Z")
    assert scheduled["closes_at"].startswith("2999-01-01T00:00:00") and scheduled["state"].startswith("open, ")
    assert run("baseline", "set", "aim2019/test", "--psnr", "31.5")["psnr"] == 31.5
    assert [v["source"] for v in run("baseline", "history", "aim2019/test")] == ["bundle", "set"]
    assert run("baseline", "revert", "aim2019/test")["psnr"] == 28.7
    assert run("baseline", "measure", "--phase", "aim2019/test")["status"] == "queued"
    assert run("results", "import", "--phase", "aim2019/test", str(REPORT_CSV))["rows"] == 26
    accepted = run("submit", str(tmp_path / "results.zip"), "--phase", "aim2019/test", "--token", token,
                   "--server", api)
    assert accepted["status"] == "submitted" and "Submit your code" in accepted["notice"]
    public_id = accepted["id"]
    assert [s["id"] for s in run("submission", "list", "--team", "alpha")] == [public_id]
    assert run("submission", "show", public_id)["runs"][0]["status"] == "queued"
    assert run("rescore", "--submission", public_id)[0]["already_pending"] is True
    assert run("status")["queues"]
    assert run("submission", "cancel", public_id)["status"] == "cancelled"
    hold_for_review(public_id)
    assert run("submission", "approve", public_id)["review"] == "approved"
    assert run("submission", "reject", public_id, "--reason", "weights in buffers")["review"] == "rejected"
    assert run("leaderboard", "--phase", "aim2019/test")["phase"] == "test"
    assert "two formats" in cli.said("leaderboard", "--phase", "aim2019/test", "--format", "csv", "--json")
    assert {e["action"] for e in run("audit")} >= {"baseline.set", "baseline.revert", "phase.schedule"}

    untested = set(commands()) - set(EXEMPT) - set(printed)
    assert untested == set(), f"add a --json run of {sorted(untested)} to this test"


def test_submit_prints_the_upload_notice(cli, api, tmp_path):
    """A results zip to a phase ranking measured figures is told so at upload: submit printed only
    "accepted" and the team learnt it was unranked from the board."""
    rng = np.random.default_rng(6)
    hr = {"0801": photo_like(rng, 32, 48)}
    (tmp_path / "hr").mkdir()
    (tmp_path / "hr" / "0801.png").write_bytes(png_bytes(hr["0801"]))
    cli("dataset", "import", "--phase", "aim2019/test", "--hr", str(tmp_path / "hr"))
    cli("dataset", "import", "--phase", "aim2019/validation", "--hr", str(tmp_path / "hr"))
    token = cli("team", "create", "alpha").stdout.strip().splitlines()[-1]
    (tmp_path / "results.zip").write_bytes(zip_bytes({"0801.png": png_bytes(hr["0801"])}))
    told = cli("submit", str(tmp_path / "results.zip"), "--phase", "aim2019/test", "--token", token, "--server", api)
    assert "accepted (results)" in told.stdout
    assert "note: This phase ranks parameters and runtime measured" in " ".join(told.stderr.split())
    quiet = cli("submit", str(tmp_path / "results.zip"), "--phase", "aim2019/validation", "--token", token,
                "--server", api)
    assert "accepted (results)" in quiet.stdout and "note:" not in quiet.stderr
