"""Every number a program carries that is not a parameter, by where it is stored and by kind.

Parameters stay the field's ``sum(p.numel())`` (``params.py``), but a model can carry weights
elsewhere: in buffers, in constant tensors, or as literals written into the graph (``x * 3``).
Stage 2 counts all of them here, from the tensors and steps it actually runs, so the figures
and the review rule (``scoring/review.py``, docs/ranking.md) can judge them.

``information`` measures the non-parameter tensors in float32 numbers' worth: the zlib-compressed
size of their distinct contents, divided by 4. It tells honest non-learned tables from hidden
weights without a list of allowed buffer names: SwinIR-light's 3.2 million index and attention-mask
values (24 identical index tables, 12 identical masks of 0 and −100) come to about 800, two million
random weights to about 1.9 million. A compressed size is an upper bound on the information in the
data, so quantizing hidden weights (int8, binary) lowers the figure no further than their entropy.

Literals: floats and integers (bools are flags, not counted). ``value`` literals are those that
enter the arithmetic (an op argument typed Tensor, Scalar or float, e.g. ``x * 3``, a slope, an
epsilon, and any number in shape arithmetic); the others are sizes, dims, strides and indices.
``literal_information`` measures the value literals as ``information`` measures tensors, so the
review tells an epsilon repeated per block from weights spelt out one literal each.
"""

import operator
import zlib

import torch

_VALUE_TYPES = ("Tensor", "number", "float")  # how ATen schemas print Tensor, Scalar and float arguments


def tensor_numbers(tensors: list[torch.Tensor]) -> dict[str, int]:
    """Numbers in ``tensors`` by kind (``float`` includes complex; bool counts as ``integer``)."""
    counts = {"float": 0, "integer": 0}
    for tensor in tensors:
        kind = "float" if tensor.dtype.is_floating_point or tensor.dtype.is_complex else "integer"
        counts[kind] += tensor.numel()
    return counts


def information(tensors: list[torch.Tensor]) -> int:
    """Float32 numbers' worth of information: compressed bytes of each distinct content, over 4."""
    contents = {bytes(_as_bytes(t)) for t in tensors if t.numel()}
    return sum(-(-len(zlib.compress(data, 6)) // 4) for data in contents)


def _as_bytes(tensor: torch.Tensor) -> memoryview:
    raw = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8)
    return memoryview(raw.numpy())


def program_literals(steps: list) -> tuple[list, list]:
    """(literals used as values, the other literals) of a program's steps (``Program.steps``), in order."""
    values, others = [], []
    for fn, args, kwargs in steps:
        if isinstance(fn, torch._ops.OpOverload):
            types = {a.name: str(a.type) for a in fn._schema.arguments}
            bound = {**dict(zip(types, args)), **kwargs}
            for name, value in bound.items():
                _collect(value, values if any(t in types.get(name, "") for t in _VALUE_TYPES) else others)
        else:
            operands = args[:1] if fn is operator.getitem else args  # getitem's index picks an output
            for value in operands:
                _collect(value, values)
            for value in args[len(operands):]:
                _collect(value, others)
    return values, others


def _collect(value, into: list) -> None:
    if isinstance(value, list):
        for item in value:
            _collect(item, into)
    elif type(value) in (int, float):  # exact types: a reference to an earlier value is an int subclass
        into.append(value)


def literal_counts(steps: list) -> dict[str, int]:
    """Literals in a program's steps: by kind, and those used as values."""
    values, others = program_literals(steps)
    floats = sum(type(v) is float for v in values + others)
    return {"float": floats, "integer": len(values) + len(others) - floats, "value": len(values)}


def literal_information(steps: list) -> int:
    """Float32 numbers' worth of information in the literals used as values: the compressed size of
    their exact text (``repr``, in program order), over 4. Honest literals repeat block by block (an
    epsilon per norm, a dropout's 0.0): KAIR's SwinIR-light's 231 come to 20; 288 random integers to 144."""
    values, _ = program_literals(steps)
    return -(-len(zlib.compress(",".join(map(repr, values)).encode(), 9)) // 4) if values else 0


def stored_numbers(programs: list[tuple[dict, object]], tensors: dict[str, torch.Tensor]) -> dict:
    """The figures for a model's (graph, checked program) pairs; per-size programs share tensors,
    counted once; a tensor tied to a parameter is the parameter's."""
    params = {n for _, p in programs for n in p.param_names}
    kinds = {"buffers": set(), "constants": set()}
    for graph, _ in programs:
        for spec in graph["inputs"]:
            if spec["kind"] != "input" and spec["tensor"] not in params:
                kinds["constants" if spec["kind"] == "constant_tensor" else "buffers"].add(spec["tensor"])
    kinds["constants"] -= kinds["buffers"]
    literals = [literal_counts(p.steps) for _, p in programs]
    most = max(literals, key=lambda c: (c["value"], c["float"] + c["integer"]))
    literal_info = max(literal_information(p.steps) for _, p in programs)
    others = [tensors[n] for n in sorted(kinds["buffers"] | kinds["constants"])]
    return {
        "buffers": tensor_numbers([tensors[n] for n in sorted(kinds["buffers"])]),
        "constants": tensor_numbers([tensors[n] for n in sorted(kinds["constants"])]),
        "literals": {"float": most["float"], "integer": most["integer"]},
        "value_literals": most["value"],
        "literal_information": literal_info,
        "information": information(others),
    }
