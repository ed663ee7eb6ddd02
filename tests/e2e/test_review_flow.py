"""A model that keeps its weights in buffers, through the real worker: its stored numbers are
shown to the team and on the board, it is held unranked, and organizers decide (CLI, admin API)."""

import html
import json
import re

import httpx

from bench.stack import zip_bytes

PHASE = "aim2019/test"
HOARDER = b'''
import torch
import torch.nn.functional as F
from torch import nn


class Hoarder(nn.Module):
    """Bicubic, plus a 3-64-48 network whose weights are buffers: "params 0"."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.register_buffer("w1", torch.randn(64, 3, 3, 3))
        self.register_buffer("w2", torch.randn(48, 64, 3, 3))

    def forward(self, x):
        hidden = F.pixel_shuffle(F.conv2d(F.conv2d(x, self.w1, padding=1), self.w2, padding=1), 4)
        return F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False) + 0 * hidden


def build_model():
    return Hoarder()
'''


def params_row(stack, team: str) -> dict:
    with stack.client() as client:
        board = client.get(f"/api/v1/phases/{PHASE}/leaderboard", params={"track": "params"}).json()
    return next(row for row in board["tracks"][0]["rows"] if row["team"] == team)


def team_page(stack, token: str) -> str:
    """The team page's HTML after logging in with the token, as a browser would."""
    with httpx.Client(base_url=stack.url, timeout=60) as browser:
        csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/team").text).group(1)
        browser.post("/login", data={"token": token, "csrf": csrf})
        return html.unescape(browser.get("/team").text)


def test_weights_in_buffers_are_held_until_an_organizer_decides(stack):
    token = stack.cli("team", "create", "hoarder").stdout.strip().splitlines()[-1]
    organizer = stack.cli("organizer", "create", "reviewer").stdout.strip().splitlines()[-1]
    response = stack.upload(zip_bytes({"model.py": HOARDER}), token=token, phase=PHASE)
    assert response.status_code == 202, response.text
    submission = response.json()["id"]
    body = stack.wait_scored(submission, timeout_s=600, token=token)
    assert body["status"] == "scored" and body["params"] == 0, body
    assert body["stored"]["buffers"] == {"float": 64 * 27 + 48 * 64 * 9, "integer": 0}
    assert body["review"] == "held" and "29,376 numbers that are not parameters" in body["review_note"]
    row = params_row(stack, "hoarder")
    assert row["rank"] is None and row["unranked_reason"].startswith("held for organizer review: ")
    assert row["stored_numbers"] == 64 * 27 + 48 * 64 * 9
    page = team_page(stack, token)
    assert "held for organizer review: buffers and constant tensors hold 29,376 numbers" in page
    assert "stored outside parameters: 29,376 in buffers (29,376 float), none in constants" in page
    board = httpx.get(f"{stack.url}/competitions/aim2019", params={"phase": "test", "track": "params"}).text
    assert "+ 29,376 stored outside parameters" in board

    remote = ["--server", stack.url, "--token", organizer, "--json"]
    held = json.loads(stack.cli("submission", "list", "--review", "held", *remote).stdout)
    assert [s["id"] for s in held] == [submission]
    approved = json.loads(stack.cli("submission", "approve", submission, "--reason", "looked at it", *remote).stdout)
    assert approved["review"] == "approved"
    assert "review" not in (params_row(stack, "hoarder")["unranked_reason"] or "")

    rejected = stack.cli("submission", "reject", submission, "--reason", "weights kept in buffers", "--json")
    assert json.loads(rejected.stdout)["review"] == "rejected"
    row = params_row(stack, "hoarder")
    assert row["rank"] is None and row["unranked_reason"].startswith("rejected by the organizers: weights kept")
    with stack.client(token) as client:
        seen = client.get(f"/api/v1/submissions/{submission}").json()
    assert (seen["review"], seen["review_note"]) == ("rejected", "weights kept in buffers")

    history = json.loads(stack.cli("submission", "show", submission, "--json").stdout)["reviews"]
    assert [(d["decision"], d["decided_by"]) for d in history] == [
        ("held", "platform"), ("approved", "organizer:reviewer"), ("rejected", "organizer:cli")]
    refused = stack.cli("submission", "reject", submission, check=False)
    assert refused.returncode != 0 and "--reason" in refused.stderr
