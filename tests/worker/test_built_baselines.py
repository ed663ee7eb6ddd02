"""Every baseline scoring/baselines.py says the measuring sandbox builds is built there, through the
export and interpreter a submission goes through, and upscales by the bundle's scale (each network at
one scale here, to keep it short: MSRResNet at both new ones; tests/scoring/test_baseline_networks.py
runs every network eagerly at every scale)."""

import importlib

import numpy as np
import pytest
import torch

from scoring.baselines import BUILT_IN_SANDBOX

CASES = [("MSRResNet", 2), ("MSRResNet", 3), ("IMDN", 3), ("RFDN", 2), ("RLFN", 3), ("EFDN", 4), ("SPAN", 2)]


def test_the_sandbox_builds_exactly_the_listed_baselines(measure_runner):
    assert set(measure_runner.BASELINES) == set(BUILT_IN_SANDBOX) == {name for name, _ in CASES}


@pytest.mark.parametrize(("name", "scale"), CASES)
def test_a_listed_baseline_runs_at_its_scale_in_the_interpreter_as_the_eager_network(measure_runner, name, scale):
    cpu = torch.device("cpu")
    runner, built = measure_runner.load_baseline({"baseline": {"name": name, "scale": scale}}, cpu, (20, 24))
    module = importlib.import_module(f"scoring.{name.lower()}")
    assert built == {"name": name, "scale": scale, "params": module.PARAMS[scale]}
    lr = np.random.default_rng(0).integers(0, 256, (22, 19, 3), dtype=np.uint8)
    with torch.inference_mode():
        out, _ = runner.run(lr, cpu, "odd")
        torch.manual_seed(0)
        eager = getattr(module, name)(scale=scale).eval()(measure_runner.input_tensor(lr, cpu, 1.0))
    assert out.shape == (1, 3, 22 * scale, 19 * scale)
    torch.testing.assert_close(out, eager, rtol=1e-4, atol=1e-4)


def test_a_baseline_the_sandbox_does_not_build_is_the_platforms_failure(measure_runner):
    with pytest.raises(measure_runner.PlatformError, match="does not build the baseline ESRGAN"):
        measure_runner.load_baseline({"baseline": {"name": "ESRGAN", "scale": 4}}, torch.device("cpu"), (20, 24))
