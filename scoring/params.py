"""Parameter counting: the report's "number of parameters" (§2.2: MSRResNet has 1,517,571).

Convention: the sum of ``numel`` over a model's parameters, each distinct tensor once (a weight
shared by two layers counts once), and buffers (running statistics, constant tensors) apart:
they are not parameters, but a model could hide weights in them, so they are reported next to
the count for the leaderboard to judge.

No torch import: anything with ``numel()``, ``data_ptr()``, ``dtype``, ``shape`` and ``stride()``
is counted, so this module stays importable and testable without torch, and the sandbox's
measurement stage can use a copy of it.
"""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ParameterCount:
    """``params``: numbers in parameters; ``buffers``: numbers in everything else the model carries."""

    params: int
    buffers: int


def _key(tensor) -> tuple:
    """Two tensors are one when they are the same view of the same memory."""
    return (tensor.data_ptr(), str(tensor.dtype), tuple(tensor.shape), tuple(tensor.stride()))


def count_unique(tensors: Iterable) -> int:
    """Total ``numel`` of distinct tensors; empty tensors add nothing whatever their pointer."""
    seen: set[tuple] = set()
    total = 0
    for tensor in tensors:
        if tensor.numel() == 0:
            continue
        key = _key(tensor)
        if key not in seen:
            seen.add(key)
            total += tensor.numel()
    return total


def count_tensors(params: Iterable, buffers: Iterable) -> ParameterCount:
    """Count parameters and buffers; a tensor that is both (tied to a parameter) counts as a parameter."""
    params = list(params)
    param_keys = {_key(t) for t in params}
    return ParameterCount(
        params=count_unique(params),
        buffers=count_unique(b for b in buffers if _key(b) not in param_keys),
    )


def count_module(module) -> ParameterCount:
    """Count an ``nn.Module`` (trusted code only: a team's module can override ``parameters()``)."""
    return count_tensors(module.parameters(), module.buffers())
