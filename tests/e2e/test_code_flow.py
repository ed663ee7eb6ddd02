"""Code submissions through the real queue and worker: the sandboxed re-run, end to end.

(The sandbox's own hostile-code tests are in tests/worker; here: upload → gpu queue → scored.)
"""

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save
from scoring.msrresnet import MSRResNet

import scoring.msrresnet
from bench.stack import png_bytes, zip_bytes

MODEL_PY = Path(scoring.msrresnet.__file__).read_text() + "\n\ndef build_model():\n    return MSRResNet()\n"


@pytest.fixture(scope="module")
def weights():
    torch.manual_seed(4)
    return {name: tensor.contiguous() for name, tensor in MSRResNet().state_dict().items()}


def outputs_in_process(stack, weights) -> dict[str, np.ndarray]:
    """The same model run here on the downloaded LR inputs, rounded as the worker does."""
    model = MSRResNet()
    model.load_state_dict(weights)
    model.eval()
    outputs = {}
    with stack.client() as client, torch.inference_mode():
        for name in client.get(f"/api/v1/phases/{stack.phase}/inputs").json():
            lr = np.asarray(Image.open(io.BytesIO(client.get(f"/api/v1/phases/{stack.phase}/inputs/{name}").content)))
            x = torch.from_numpy(lr.copy()).permute(2, 0, 1)[None].float() / 255
            y = model(x).clamp(0, 1).mul(255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
            outputs[name.removesuffix("x4.png")] = y
    return outputs


def test_msrresnet_code_submission_is_measured_and_scored(stack, weights):
    code = zip_bytes({"model.py": MODEL_PY.encode(), "model.safetensors": save(weights),
                      "submission.yaml": b"data_range: 1.0\ndescription: MSRResNet re-run\nextra_data: no\n"})
    team = stack.cli("team", "create", "code-msrresnet").stdout.strip().splitlines()[-1]
    response = stack.upload(code, token=team)  # a team of its own: this submission stands on the board
    assert response.status_code == 202 and response.json()["kind"] == "code"
    body = stack.wait_scored(response.json()["id"], timeout_s=600, token=team)
    assert body["status"] == "scored", body
    assert body["params"] == 1_517_571
    assert 0.6 < body["runtime_ratio"] < 1.6, "the baseline is the same architecture"
    assert body["description"] == "MSRResNet re-run" and body["extra_data"] is False
    assert body["macs"] / 1e9 == pytest.approx(166.2, abs=0.1), "multiply-accumulates at 1×3×256×256"
    assert body["measurement"]["macs_input"] == "1×3×256×256" and body["peak_memory_bytes"] > 0
    assert body["measurement"]["products"] == {}, "MSRResNet multiplies tensors only in its convolutions"
    assert body["measurement"]["environment"]["device"] == body["device"]
    with stack.client() as client:
        board = client.get(f"/competitions/{stack.phase}/leaderboard.json", params={"track": "params"}).json()
    [row] = [row for row in board["tracks"][0]["rows"] if row["submission_id"] == body["id"]]
    assert (row["macs"], row["peak_memory_bytes"], row["device"]) == (body["macs"], body["peak_memory_bytes"],
                                                                      body["device"])
    results = stack.submit_and_wait(stack.results_zip(outputs_in_process(stack, weights)))
    assert results["status"] == "scored"
    assert body["psnr"] == pytest.approx(results["psnr"], abs=1e-3)


def test_broken_code_submission_fails_with_a_reason_and_the_worker_goes_on(stack):
    body = stack.submit_and_wait(zip_bytes({"model.py": b"import nonexistent_module_xyz\n"}))
    assert body["status"] == "failed"
    assert "nonexistent_module_xyz" in body["reason"] + body["log"]
    assert stack.submit_and_wait(stack.results_zip())["status"] == "scored"


SPARSE_REWRITE = b"""
import atexit, glob, json, os
import torch


def rewrite():
    for path in glob.glob("/sandbox/out/program-*.json"):
        graph = json.load(open(path))
        x = next(i for i, spec in enumerate(graph["inputs"]) if spec["kind"] == "input")
        n = len(graph["inputs"]) + len(graph["nodes"])
        graph["nodes"] += [{"op": "aten::_sparse_coo_tensor_unsafe.default",
                            "args": {"list": [{"ref": x}, {"ref": x}, {"list": [1 << 20]}]}, "kwargs": {}},
                           {"op": "aten::to_dense.default", "args": {"list": [{"ref": n}]}, "kwargs": {}}]
        graph["output"] = n + 1
        json.dump(graph, open(path, "w"))


def at_exit(hook):  # however the runner leaves: the interpreter's exit, or os._exit after its result
    atexit.register(hook)
    leave = os._exit
    os._exit = lambda code: (hook(), leave(code))


at_exit(rewrite)


def build_model():
    return torch.nn.Sequential(torch.nn.Conv2d(3, 48, 3, padding=1), torch.nn.PixelShuffle(4))
"""


def test_a_crafted_program_is_the_teams_failure_and_the_worker_goes_on(stack):
    """Issue 12.2: stage 1 rewrites its program to call the sparse operators that wrote past a
    buffer in the measuring process; the submission fails with the operator named, as the team's
    failure (not the platform's), and the worker scores the next submission."""
    body = stack.submit_and_wait(zip_bytes({"model.py": SPARSE_REWRITE}))
    assert body["status"] == "failed", body
    assert "_sparse_coo_tensor_unsafe" in body["reason"] and "not an allowed operator" in body["reason"]
    assert "platform" not in body["reason"]
    assert stack.submit_and_wait(stack.results_zip())["status"] == "scored"


def test_code_kind_without_model_py_is_refused_with_a_reason(stack):
    body = stack.submit_and_wait(zip_bytes({"weights.pth": b"x"}), kind="code")
    assert body["status"] == "failed" and "model.py" in body["reason"]
