"""Parameter counting: the report's "number of parameters" (§2.2: MSRResNet has 1,517,571).

Convention: the sum of ``numel`` over a model's parameters, each distinct tensor once (a weight
shared by two layers counts once). Everything else a model carries (buffers, constant tensors,
literals in its graph) is not a parameter; the measuring stage counts it apart
(``worker/sandbox/stored.py``) and the review rule judges it (``scoring/review.py``).

No torch import: anything with ``numel()``, ``data_ptr()``, ``dtype``, ``shape`` and ``stride()``
is counted, so this module stays importable and testable without torch, and the sandbox's
measurement stage can use a copy of it.
"""

from collections.abc import Iterable


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
