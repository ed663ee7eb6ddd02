"""The range of every figure a scoring run stores: past it a value is a fault or an attack, not a
measurement, and the run is the team's failure with the figure named.

Without a bound a figure fails the database save instead: counts go to 64-bit integer columns (a
model's MACs on the meta device can pass 2^63), figures to JSON, where NaN and infinities are not
numbers (PostgreSQL refuses them). A save that raises is retried, re-queued, and finally recorded
as the platform's failure, which gives the team its quota slot back: a free retry, at will.
docs/ranking.md says why each bound is where it is.
"""

import math
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

from scoring.errors import SubmissionError
from scoring.psnr import PSNR_CAP_DB
from scoring.review import literal_total, stored_total

MAX_PARAMS = 10**12
"""Numbers a model holds (parameters, and numbers stored elsewhere): 4 TB of float32."""
MAX_MACS = 10**15
"""Multiply-accumulates for one 1×3×256×256 input: 6,000 times MSRResNet's 166 G."""
MAX_MEMORY_BYTES = 2**50
"""Peak memory of a measured pass: a pebibyte, more than any worker has."""
MAX_SECONDS_PER_IMAGE = 3600.0
MAX_GPU_NAME = 100
"""Characters of a self-reported GPU name that are kept (the rest is cut, as a form field's is)."""
INT64_MAX = 2**63 - 1

_INTEGERS = {
    "params": ("the parameter count", MAX_PARAMS),
    "macs": ("the number of MACs (multiply-accumulates for one 1×3×256×256 input)", MAX_MACS),
    "activations": ("the number of activations (elements of every convolution's output for one 1×3×256×256 input)",
                    MAX_MACS),
    "peak_memory_bytes": ("the peak memory (bytes)", MAX_MEMORY_BYTES),
    "images": ("the number of images", INT64_MAX),
    "capped_images": ("the number of capped images", INT64_MAX),
    "self_params": ("the self-reported parameter count", MAX_PARAMS),
}
_REALS = {
    "psnr": ("the PSNR (dB)", 0.0, PSNR_CAP_DB),
    "runtime": ("the runtime (seconds per image)", 0.0, MAX_SECONDS_PER_IMAGE),
    "runtime_baseline": ("the baseline's runtime (seconds per image)", 0.0, MAX_SECONDS_PER_IMAGE),
    "runtime_ratio": ("the runtime ratio", 0.0, None),
    "self_runtime": ("the self-reported runtime (seconds per image)", 0.0, MAX_SECONDS_PER_IMAGE),
    "self_runtime_baseline": ("the self-reported baseline runtime (seconds per image)", 0.0, MAX_SECONDS_PER_IMAGE),
}


def check_figures(figures: Mapping[str, Any]) -> None:
    """Raise ``SubmissionError`` naming the first figure out of its range: the headline figures
    (and self-reported ones) by name, the stored-number counts in ``stored``, and every number
    nested anywhere (a measurement's per-image times, say) finite and within 64 bits."""
    for name, (label, high) in _INTEGERS.items():
        value = figures.get(name)
        if value is not None and (not _is_number(value, Integral) or not 0 <= value <= high):
            raise SubmissionError(f"{label} is {_shown(value)}, outside what the platform records (0 to {high:,})")
    for name, (label, low, high) in _REALS.items():
        value = figures.get(name)
        if value is not None and (not _is_number(value, Real) or not math.isfinite(value)
                                  or not low <= value <= (high if high is not None else math.inf)):
            span = f"{low:g} to {high:g}" if high is not None else f"a finite number from {low:g}"
            raise SubmissionError(f"{label} is {_shown(value)}, outside what the platform records ({span})")
    if figures.get("stored"):
        counted = max(stored_total(figures["stored"]), literal_total(figures["stored"]))
        if counted > MAX_PARAMS:
            raise SubmissionError(f"the model stores {counted:,} numbers outside its parameters, more than the "
                                  f"platform records ({MAX_PARAMS:,})")
    for where, value in _numbers(figures):
        if abs(value) > INT64_MAX if isinstance(value, Integral) else not math.isfinite(value):
            raise SubmissionError(f"{where} is {_shown(value)}, not a number the platform can record")


def _numbers(figures: Mapping[str, Any]):
    """(path, number) for every number nested in ``figures``, without recursion."""
    pending = [(str(name), value) for name, value in figures.items()]
    while pending:
        where, value = pending.pop()
        if isinstance(value, Mapping):
            pending += [(f"{where}.{key}", item) for key, item in value.items()]
        elif isinstance(value, list | tuple):
            pending += [(f"{where}[{i}]", item) for i, item in enumerate(value)]
        elif _is_number(value, Real):
            yield where, value


def _is_number(value: Any, kind: type) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    return f"{value:,}" if _is_number(value, Integral) else repr(value)[:40]
