"""Leaderboard downloads from the page and ``srchallenge leaderboard``: one service, the same bytes."""

import json

import httpx
import pytest

from scoring.export import read_entries_csv

EXPORTS = "/competitions/aim2019/validation/leaderboard"


@pytest.fixture(scope="module")
def board(stack):
    """At least one scored entry of alpha's besides the baseline rows."""
    stack.submit_and_wait(stack.results_zip(), params="700000", runtime="0.05", runtime_baseline="0.1")
    return stack


def download(stack, fmt: str, **query) -> httpx.Response:
    return httpx.get(f"{stack.url}{EXPORTS}.{fmt}", params=query)


@pytest.mark.parametrize("fmt, media_type, filename, marker", [
    ("csv", "text/csv", "aim2019-validation-leaderboard.csv", "rank,team,track"),
    ("json", "application/json", "aim2019-validation-leaderboard.json", '"ranking_figures": "self_reported"'),
    ("markdown", "text/markdown", "aim2019-validation-leaderboard.md", "## Track 1: Parameters"),
    ("latex", "application/x-latex", "aim2019-validation-leaderboard.tex", r"\caption{Track 3: Fidelity}"),
    ("table", "text/plain", "aim2019-validation-leaderboard.txt", "Track 2: Inference"),
])
def test_every_format_downloads_as_an_attachment(board, fmt, media_type, filename, marker):
    response = download(board, fmt)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert marker in response.text


def test_csv_reads_back_with_a_baseline_per_track(board):
    entries = read_entries_csv(download(board, "csv").text)
    assert sorted(e.track for e in entries if e.is_baseline) == ["params", "psnr", "runtime"]
    assert any(e.team == "alpha" for e in entries)


def test_one_track(board):
    response = download(board, "json", track="psnr")
    assert response.headers["content-disposition"].endswith('-validation-psnr-leaderboard.json"')
    document = response.json()
    assert [t["track"] for t in document["tracks"]] == ["psnr"]
    assert document["tracks"][0]["rows"][0]["rank"] == 1
    assert {e.track for e in read_entries_csv(download(board, "csv", track="runtime").text)} == {"runtime"}


def test_unknown_format_track_or_phase_is_404(board):
    assert download(board, "xlsx").status_code == 404
    assert "choose one of" in download(board, "xlsx").json()["detail"]
    assert download(board, "csv", track="nope").status_code == 404
    assert httpx.get(f"{board.url}/competitions/aim2019/nope/leaderboard.csv").status_code == 404


def test_the_cli_prints_what_the_page_downloads(board):
    for fmt, query in (("table", {}), ("csv", {}), ("latex", {"track": "params"})):
        args = ["leaderboard", "--phase", "aim2019/validation", "--format", fmt]
        args += ["--track", query["track"]] if query else []
        assert board.cli(*args).stdout == download(board, fmt, **query).text
    printed = json.loads(board.cli("leaderboard", "--phase", "aim2019/test", "--format", "json").stdout)
    assert printed["phase"] == "test" and len(printed["tracks"]) == 3


def test_the_cli_explains_bad_arguments(board):
    result = board.cli("leaderboard", "--phase", "aim2019/validation", "--format", "xlsx", check=False)
    assert result.returncode == 1 and "choose one of" in result.stderr
    result = board.cli("leaderboard", "--phase", "aim2019/nope", check=False)
    assert result.returncode == 1 and "no phase aim2019/nope" in result.stderr
