"""`srchallenge submit` and `srchallenge leaderboard --server` against the real API (uvicorn on
loopback, over the cli fixture's database), as a team runs them."""

from datetime import timedelta

import numpy as np
from sqlalchemy import select, update

from bench.stack import photo_like, png_bytes, zip_bytes
from server.cli.submit import MAX_RETRY_WAIT_S
from server.db import get_sessionmaker
from server.models import Submission, utcnow


def said(result) -> str:
    return " ".join(result.stderr.split())


def seeded(cli, tmp_path) -> tuple[str, str]:
    """A validation phase with one image, a team's token, and a results zip for it."""
    image = photo_like(np.random.default_rng(4), 32, 48)
    (tmp_path / "hr").mkdir()
    (tmp_path / "hr" / "0801.png").write_bytes(png_bytes(image))
    cli("dataset", "import", "--phase", "aim2019/validation", "--hr", str(tmp_path / "hr"))
    (tmp_path / "results.zip").write_bytes(zip_bytes({"0801.png": png_bytes(image)}))
    return cli("team", "create", "alpha").stdout.strip().splitlines()[-1], str(tmp_path / "results.zip")


def submit(cli, api, token, path, *args, code=0):
    return cli("submit", path, "--phase", "aim2019/validation", "--token", token, "--server", api, *args, code=code)


def test_submit_sends_params_and_runtime(cli, api, tmp_path):
    token, path = seeded(cli, tmp_path)
    submit(cli, api, token, path, "--params", "893936", "--runtime", "0.039", "--runtime-baseline", "0.091")
    with get_sessionmaker()() as db:
        row = db.scalar(select(Submission))
        assert (row.self_params, row.self_runtime, row.self_runtime_baseline) == (893936, 0.039, 0.091)


def test_submit_waits_out_a_short_retry_after_and_says_so(cli, api, tmp_path):
    """429 with Retry-After (the daily quota's next slot in 2 s): submit gave up at once."""
    token, path = seeded(cli, tmp_path)
    cli("phase", "set-limits", "aim2019/validation", "--per-day", "1")
    submit(cli, api, token, path)
    with get_sessionmaker()() as db:
        db.execute(update(Submission).values(created_at=utcnow() - timedelta(days=1) + timedelta(seconds=2)))
        db.commit()
    told = submit(cli, api, token, path)
    assert "accepted (results)" in told.stdout
    assert "upload: 429 your team has used its 1 submissions of the last 24 h" in said(told)
    assert "(try 2 of 5)" in said(told)


def test_submit_does_not_wait_a_day(cli, api, tmp_path):
    token, path = seeded(cli, tmp_path)
    cli("phase", "set-limits", "aim2019/validation", "--per-day", "1")
    submit(cli, api, token, path)
    refused = submit(cli, api, token, path, code=1)
    assert f"longer than the {MAX_RETRY_WAIT_S:.0f} s this command waits; not retried" in said(refused)
    assert "upload refused (429): your team has used its 1 submissions" in said(refused)


def test_leaderboard_from_a_server_is_the_local_one(cli, api, tmp_path):
    token, path = seeded(cli, tmp_path)
    submit(cli, api, token, path, "--params", "893936", "--runtime", "0.039", "--runtime-baseline", "0.091")
    for args in (("--format", "markdown"), ("--json",), ("--track", "psnr", "--format", "csv")):
        local = cli("leaderboard", "--phase", "aim2019/validation", *args).stdout
        assert cli("leaderboard", "--phase", "aim2019/validation", "--server", api, *args).stdout == local
    assert "answered 404: no phase" in " ".join(
        cli("leaderboard", "--phase", "aim2019/nope", "--server", api, code=1).stderr.split())
