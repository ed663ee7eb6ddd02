"""What the two sandbox stages run besides the timed passes, in process (no sandbox), and where the scored outputs
come from. A tiny exported program stands in for the team's, and for the baseline."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

RUNTIME, SCORING = ["rt-a", "rt-b"], ["a", "b", "c"]


def test_scored_images_are_matched_to_timed_ones_by_their_pixels(measure_runner):
    rng = np.random.default_rng(0)
    a, b, c = (rng.integers(0, 256, (4, 6, 3), dtype=np.uint8) for _ in range(3))
    lr = {"rt-a": a, "rt-b": b, "a": a.copy(), "b": b.copy(), "c": c,
          "a-transposed": a.reshape(6, 4, 3)}  # the same bytes in another shape is another image
    sources = measure_runner.output_sources(lr, ["rt-a", "rt-b"], ["a", "b", "c", "a-transposed"])
    assert sources == {"a": "rt-a", "b": "rt-b"}
    assert measure_runner.output_sources(lr, ["a", "c"], ["a", "c"]) == {"a": "a", "c": "c"}


@pytest.fixture
def tiny_job(measure_runner, tmp_path, monkeypatch):
    """/sandbox/in and /sandbox/out for a conv + pixel shuffle, timed on ``rt-a``/``rt-b``, scored on
    ``a``/``b`` (the same pixels) and ``c`` (an image of its own); the baseline is the same program."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 48, 3, padding=1), nn.PixelShuffle(4)).eval()
    auto = torch.export.Dim.AUTO
    ep = torch.export.export(model, (torch.rand(1, 3, 4, 6),), dynamic_shapes=({2: auto, 3: auto},), strict=False)
    graph, tensors = measure_runner.to_program(ep, {})
    inp, out = tmp_path / "in", tmp_path / "out"
    (inp / "exported").mkdir(parents=True)
    (inp / "lr").mkdir()
    out.mkdir()
    (inp / "exported" / "program-any.json").write_text(json.dumps(graph))
    save_file({name: t.contiguous() for name, t in tensors.items()}, inp / "exported" / "weights.safetensors")
    rng = np.random.default_rng(1)
    a, b, c = (rng.integers(0, 256, (4, 6, 3), dtype=np.uint8) for _ in range(3))
    for key, image in {"rt-a": a, "rt-b": b, "a": a, "b": b, "c": c}.items():
        np.save(inp / "lr" / f"{key}.npy", image)
    monkeypatch.setattr(measure_runner, "IN", inp)
    monkeypatch.setattr(measure_runner, "OUT", out)
    monkeypatch.setattr(measure_runner, "load_baseline", lambda job, device, hw: (measure_runner.Runner(
        "baseline", measure_runner.Program(graph, tensors, device), 1.0), {"name": "tiny"}))
    return {"device": "cpu", "runtime_keys": RUNTIME, "scoring_keys": SCORING, "program": "program-any.json",
            "flops_shape": [8, 8], "scale": 4, "data_range": 1.0, "memory_gib": 4, "timing": {}}, model


def test_outputs_of_timed_images_come_from_the_first_timed_trial(measure_runner, tiny_job, monkeypatch):
    """No second pass over images the trials already ran: the submission runs once per shape to
    warm up, three times per timed image, and once for the scored image that is not timed."""
    job, model = tiny_job
    passes = []
    run = measure_runner.Runner.run

    def recording_run(self, lr, device, key):
        out, seconds = run(self, lr, device, key)
        if self.name == "model":
            passes.append(key)
        return out, seconds

    monkeypatch.setattr(measure_runner.Runner, "run", recording_run)
    result = measure_runner.measure(job)

    assert sorted(passes) == sorted(["rt-a"] + ["c"] + RUNTIME * 3)  # warm-up, the untimed image, 3 trials
    assert len(result["runtime_image_seconds"]) == 3
    for key in SCORING:
        saved = np.load(measure_runner.OUT / "sr" / f"{key}.npy")
        lr = np.load(measure_runner.IN / "lr" / f"{key}.npy")
        with torch.inference_mode():
            eager = model(torch.from_numpy(lr).permute(2, 0, 1)[None].float() / 255)
        assert saved.shape == (16, 24, 3)
        assert np.array_equal(saved, (eager.clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy())


def test_a_non_finite_output_of_a_timed_image_is_refused(measure_runner, tiny_job, monkeypatch):
    job, _ = tiny_job
    run = measure_runner.Runner.run

    def nan_on_b(self, lr, device, key):
        out, seconds = run(self, lr, device, key)
        return (out * float("nan") if self.name == "model" and key == "rt-b" else out), seconds

    monkeypatch.setattr(measure_runner.Runner, "run", nan_on_b)
    with pytest.raises(measure_runner.TeamError, match="output for b contains NaN"):
        measure_runner.measure(job)


PADS_TO_EIGHT = """
import torch
from torch import nn
import torch.nn.functional as F


class PadsToEight(nn.Module):
    '''Pads the width to a multiple of 8, as window-attention models do, and says when it runs eagerly.'''

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 48, 3, padding=1)

    def forward(self, x):
        if not torch.compiler.is_exporting():
            print(f"eager forward at {x.shape[3]}x{x.shape[2]}")
        w = x.shape[3]
        x = F.pad(x, (0, (8 - w % 8) % 8))
        return torch.pixel_shuffle(self.conv(x), 4)[..., : 4 * w]
"""


def test_the_macs_size_is_checked_on_the_meta_device_when_no_image_has_it(export_runner, capsys):
    """Exported at a width that is not a multiple of 8, torch assumes the padding is not empty,
    which fails at 256×256; no image has that size, so the program is run there on the meta device
    only (it runs and upscales by 4), not computed against the eager model: two full passes saved."""
    namespace = {}
    exec(PADS_TO_EIGHT, namespace)
    model = namespace["PadsToEight"]().eval()
    job = {"data_range": 1.0, "shapes": [(10, 9), (12, 13)], "counted_shape": [256, 256]}
    with torch.no_grad():
        programs, tensors = export_runner.export(model, job)
    graph = programs[export_runner.PROGRAM]
    log = capsys.readouterr().out
    assert "eager forward at 9x10" in log and "256x256" not in log
    assert "does not hold at 256×256; MACs are counted at that size" in log
    program = export_runner.Program(graph, tensors, torch.device("cpu"))
    with torch.no_grad():
        assert program(torch.rand(1, 3, 256, 256)).shape == (1, 3, 1024, 1024)

