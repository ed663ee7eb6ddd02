"""A code submission ranked by a shipped NTIRE 2024 bundle (weighted score), end to end: upload → the
sandboxed re-run → the board, the API and the CLI's leaderboard."""

import math
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import save

from bench.stack import zip_bytes
from tests.worker.conftest import TINY_MODEL

COMPETITIONS = Path(__file__).resolve().parents[2] / "competitions"


def test_a_code_submission_is_ranked_by_the_ntire2024_weighted_score(stack, tmp_path):
    raw = yaml.safe_load((COMPETITIONS / "ntire2024-esr.yaml").read_text())
    raw["slug"] = "ntire2024-e2e"
    for phase in raw["phases"]:
        phase["psnr_threshold"] = 1.0  # a one-convolution model on generated photos: far below 26.99 dB
    bundle = tmp_path / "ntire2024.yaml"
    bundle.write_text(yaml.safe_dump(raw))
    stack.cli("competition", "create", str(bundle))
    stack.cli("dataset", "import", "--phase", "ntire2024-e2e/test", "--hr", str(stack.root / "hr"))
    team = stack.cli("team", "create", "weighted-tiny").stdout.strip().splitlines()[-1]
    torch.manual_seed(20)
    conv = torch.nn.Conv2d(3, 48, 3, padding=1)
    weights = {f"conv.{name}": tensor.detach().contiguous() for name, tensor in conv.state_dict().items()}
    code = zip_bytes({"model.py": TINY_MODEL.encode(), "model.safetensors": save(weights),
                      "submission.yaml": b"data_range: 1.0\n"})
    response = stack.upload(code, token=team, phase="ntire2024-e2e/test")
    assert response.status_code == 202, response.text
    body = stack.wait_scored(response.json()["id"], timeout_s=600, token=team)
    assert body["status"] == "scored", body
    # the sandbox times the bundle's RLFN x4 in the same job, over the bundle's five runs
    measurement = body["measurement"]
    assert measurement["environment"]["baseline"] == {"name": "RLFN", "scale": 4, "params": 317_218}
    assert "baseline_not_timed" not in measurement and body["runtime_ratio"] > 0
    assert measurement["runtime_protocol"] == "mean of 5 trials"  # the bundle's mean_of over the trials run

    with stack.client() as client:
        board = client.get("/api/v1/phases/ntire2024-e2e/test/leaderboard").json()
    overall = next(t for t in board["tracks"] if t["slug"] == "overall")
    assert overall["kind"] == "weighted_score" and overall["rule_columns"]["score"] == "Score_Final"
    rows = {row["team"]: row for row in overall["rows"]}
    # runtime / RLFN's: the paired same-job ratio
    expected = (0.7 * math.exp(2 * body["runtime_ratio"]) + 0.15 * math.exp(2 * body["macs"] / 19.7e9)
                + 0.15 * math.exp(2 * body["params"] / 317_000))
    assert rows["weighted-tiny"]["rank"] == 1 and rows["weighted-tiny"]["rule"]["score"] == pytest.approx(expected)
    assert rows["Baseline"]["rank"] is None and rows["Baseline"]["rule"]["score"] == pytest.approx(math.exp(2))
    printed = stack.cli("leaderboard", "--phase", "ntire2024-e2e/test", "--track", "overall").stdout
    line = next(x for x in printed.splitlines() if x.startswith("weighted-tiny "))
    assert f"{expected:.4f}(1)" in line and f"{body['runtime'] * 1000:.2f}" in line  # milliseconds, as the bundle says
