"""Every stored figure within its range, or the team's failure naming it (a save that overflowed
was retried and recorded as the platform's failure: a free quota slot)."""

import math

import pytest

from scoring.bounds import INT64_MAX, MAX_MACS, MAX_MEMORY_BYTES, MAX_PARAMS, MAX_SECONDS_PER_IMAGE, check_figures
from scoring.errors import SubmissionError

STORED = {"buffers": {"float": 10}, "constants": {}, "literals": {"float": 2, "integer": 3}, "information": 10,
          "value_literals": 2, "literal_information": 1}
AT_THE_BOUNDS = {"params": MAX_PARAMS, "macs": MAX_MACS, "peak_memory_bytes": MAX_MEMORY_BYTES, "psnr": 100.0,
                 "runtime": MAX_SECONDS_PER_IMAGE, "runtime_baseline": 1e-6, "runtime_ratio": 1e9, "images": 100,
                 "self_params": 0, "self_runtime": 0.01, "stored": STORED, "macs_input": "1×3×256×256",
                 "runtime_measurement": {"trials": [0.1, 0.2], "image_seconds": [[0.1], [0.2]]},
                 "extra_data": True}


def refused(**figures) -> str:
    with pytest.raises(SubmissionError) as err:
        check_figures({**AT_THE_BOUNDS, **figures})
    return str(err.value)


def test_figures_up_to_their_bounds_pass():
    check_figures(AT_THE_BOUNDS)
    check_figures({"psnr": 31.2, "images": 2, "capped_images": 0})  # a results zip


@pytest.mark.parametrize(("figure", "value", "reason"), [
    ("macs", 2**64, "multiply-accumulates for one 1×3×256×256 input) is 18,446,744,073,709,551,616"),
    ("macs", MAX_MACS + 1, "outside what the platform records (0 to 1,000,000,000,000,000)"),
    ("params", -1, "the parameter count is -1"),
    ("params", 1.5, "the parameter count is 1.5"),
    ("params", True, "the parameter count is True"),
    ("peak_memory_bytes", "lots", "the peak memory (bytes) is 'lots'"),
    ("self_params", MAX_PARAMS + 1, "the self-reported parameter count"),
    ("psnr", math.nan, "the PSNR (dB) is nan"),
    ("psnr", 100.5, "outside what the platform records (0 to 100)"),
    ("runtime", math.inf, "the runtime (seconds per image) is inf"),
    ("runtime_ratio", math.inf, "the runtime ratio is inf, outside what the platform records (a finite number from 0)"),
    ("self_runtime_baseline", -0.1, "the self-reported baseline runtime"),
])
def test_a_figure_out_of_its_range_is_named(figure, value, reason):
    assert reason in refused(**{figure: value})


def test_stored_numbers_and_nested_numbers_are_bounded_too():
    assert "stores 1,000,000,000,001 numbers outside its parameters" in refused(
        stored={**STORED, "constants": {"float": MAX_PARAMS + 1 - 10}})
    assert "runtime_measurement.image_seconds[1][0] is inf" in refused(
        runtime_measurement={"image_seconds": [[0.1], [math.inf]]})
    assert f"environment.pid is {INT64_MAX + 1:,}" in refused(environment={"pid": INT64_MAX + 1})
