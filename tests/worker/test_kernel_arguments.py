"""Arguments that pass torch's meta functions but send a kernel out of bounds are refused first (issue 19.5).

The measuring stage runs each program on the meta device at every size before anything real
runs (``Program.peak_bytes``); these calls passed it, then segfaulted, read past a buffer or
trapped in the real run. Every allowed family was tried with out-of-range arguments (sizes,
scales, strides, paddings, groups, modes, indices): the rest are refused by torch's own checks on
the meta device, or check their indices in the kernel. The pre-check itself allocates nothing.
"""

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from worker.sandbox.program import Program, ProgramError, to_program

META = torch.device("meta")
SIZE = (1, 3, 20, 20)
CHANNELS = {"one": torch.zeros(1), "three": torch.ones(3)}  # tensors of the crafted programs: refs 1 and 2


def node(op: str, *args, **kwargs) -> dict:
    return {"op": op, "args": {"list": list(args)}, "kwargs": kwargs}


def ref(index: int) -> dict:
    return {"ref": index}


def ints(*values) -> dict:
    return {"list": list(values)}


def crafted(*nodes: dict) -> dict:
    """The input (ref 0), the two tensors (refs 1, 2), then ``nodes``, the last one the output."""
    inputs = [{"kind": "input"}] + [{"kind": "buffer", "tensor": name} for name in CHANNELS]
    return {"inputs": inputs, "nodes": list(nodes), "output": len(inputs) + len(nodes) - 1}


def meta_program(graph: dict) -> Program:
    return Program(json.loads(json.dumps(graph)), {k: v.to(META) for k, v in CHANNELS.items()}, META)


TO_INT = node("aten::_to_copy.default", ref(0), dtype={"dtype": "int64"})  # ref 3
UNSAFE = {  # what ran out of bounds or crashed in the real run → the reason given
    "bicubic antialiased, scale 0.1 to a larger output (segfault)": (
        [node("aten::_upsample_bicubic2d_aa.default", ref(0), ints(80, 80), False, 0.1, 0.1)],
        "scale 0.1 and output size 80"),
    "bilinear antialiased, scale and size disagree": (
        [node("aten::_upsample_bilinear2d_aa.default", ref(0), ints(2, 2), False, 0.01, 0.01)],
        "scale 0.01 and output size 2"),
    "bilinear, scale and size disagree": (
        [node("aten::upsample_bilinear2d.default", ref(0), ints(80, 80), False, 0.25, 0.25)], "scale 0.25"),
    "nearest, a negative scale": (
        [node("aten::upsample_nearest2d.default", ref(0), ints(80, 80), -0.01, -0.01)], "scales must be positive"),
    "batch norm, 1-element running stats (read past them)": (
        [node("aten::_native_batch_norm_legit_no_training.default", ref(0), None, None, ref(1), ref(1), 0.1, 1e-5)],
        r"running_mean of shape \(1,\) for 3 channels"),
    "native batch norm, a 1-element weight": (
        [node("aten::native_batch_norm.default", ref(0), ref(1), ref(1), ref(2), ref(2), False, 0.1, 1e-5)],
        r"weight of shape \(1,\) for 3 channels"),
    "grid sampler, modes out of range (garbage read)": (
        [node("aten::zeros.default", ints(1, 5, 5, 2)), node("aten::grid_sampler.default", ref(0), ref(3), 7, 9, False)],
        "interpolation mode 7 and padding mode 9"),
    "grid sampler 2d, padding mode out of range": (
        [node("aten::zeros.default", ints(1, 5, 5, 2)), node("aten::grid_sampler_2d.default", ref(0), ref(3), 0, 7, False)],
        "padding mode 7"),
    "integer division toward zero (SIGFPE at the smallest integer over -1)": (
        [TO_INT, node("aten::div.Tensor_mode", ref(3), ref(3), rounding_mode="trunc")], "rounding_mode='trunc'"),
    "group norm, zero groups": (
        [node("aten::native_group_norm.default", ref(0), None, None, 1, 3, 400, 0, 1e-5)], "0 groups for 3 channels"),
    "_convolution asking for TF32": (
        [node("aten::zeros.default", ints(4, 3, 3, 3)),
         node("aten::_convolution.default", ref(0), ref(3), None, ints(1, 1), ints(0, 0), ints(1, 1), False, ints(0, 0),
              1, False, False, True, True)], "allow_tf32"),
}


@pytest.mark.parametrize("case", list(UNSAFE))
def test_arguments_that_would_run_a_kernel_out_of_bounds_are_refused_before_it_runs(case):
    nodes, reason = UNSAFE[case]
    program = meta_program(crafted(*nodes))
    with pytest.raises(ProgramError, match=rf"{reason}.*refused before it runs"):
        program.peak_bytes(SIZE, 1 << 30)


class Interpolations(nn.Module):
    """What honest models export to: scales that give the sizes, batch norm with its channels' statistics."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(3).eval()

    def forward(self, x):
        y = F.interpolate(self.norm(x), scale_factor=2.5, mode="bicubic", antialias=True)
        y = F.interpolate(y, scale_factor=0.1, mode="bilinear", antialias=True)
        z = F.interpolate(x, scale_factor=4, mode="nearest") + F.interpolate(x, size=(4 * x.shape[2], 4 * x.shape[3]), mode="bilinear")
        return z + F.interpolate(y, size=z.shape[2:], mode="bilinear") + (x.long() // 3).float().mean()


def test_what_honest_models_export_to_still_runs():
    auto = torch.export.Dim.AUTO
    model = Interpolations().eval()
    ep = torch.export.export(model, (torch.rand(*SIZE),), dynamic_shapes=({2: auto, 3: auto},), strict=False)
    graph, tensors = to_program(ep, {})
    meta = Program(json.loads(json.dumps(graph)), {k: v.to(META) for k, v in tensors.items()}, META)
    for size in [(1, 3, 20, 20), (1, 3, 33, 17)]:
        meta.peak_bytes(size, 1 << 30)
        x = torch.rand(*size)
        assert torch.equal(Program(graph, tensors, torch.device("cpu"))(x), model(x))


ENUMS = {  # an enum argument written otherwise than as the format's {"kind": name}
    "a device as a string (the meta pre-check allocated on the CPU)": node("aten::zeros.default", ints(4), device="cpu"),
    "a device as a string, positionally": node("aten::to.device", ref(0), "cpu", {"dtype": "float32"}),
    "a dtype as a number (12 is qint8)": node("aten::zeros.default", ints(4), dtype=12),
    "a dtype as a number (9 is complex64)": node("aten::_to_copy.default", ref(0), dtype=9),
    "a layout as a number (1 is sparse)": node("aten::ones.default", ints(4), layout=1),
    "a memory format as a number": node("aten::clone.default", ref(0), memory_format=2),
}


@pytest.mark.parametrize("case", list(ENUMS))
def test_devices_types_and_layouts_must_be_written_as_such(case):
    with pytest.raises(ProgramError, match="must be written as"):
        meta_program(crafted(ENUMS[case]))


class Devices(TorchDispatchMode):
    """The device of every tensor an operator makes."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for value in out if isinstance(out, (list, tuple)) else [out]:
            if isinstance(value, torch.Tensor):
                self.seen.add(value.device.type)
        return out


FACTORIES = [  # every way the format lets a program name a device, and none
    node("aten::zeros.default", ints(1 << 12), device={"device": "cpu"}),
    node("aten::full.default", ints(1 << 12), 2.0, device={"device": "cuda"}),
    node("aten::arange.default", 1 << 12),
    node("aten::_to_copy.default", ref(0), device={"device": "cpu"}),
    node("aten::to.device", ref(0), {"device": "cpu"}, {"dtype": "float32"}),
    node("aten::zeros.default", ints(1 << 12), device="cpu"),
    node("aten::scalar_tensor.default", 1.0, device="cuda"),
]


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda n: f"{n['op']} {n['kwargs'] or n['args']}")
def test_the_meta_pre_check_allocates_nothing(factory):
    """A program either is refused or makes meta tensors only: nothing is allocated before sizes are checked."""
    try:
        program = meta_program(crafted(factory))
    except ProgramError as exc:
        assert "must be written as" in str(exc)
        return
    with torch.inference_mode(), Devices() as devices:
        program.peak_bytes(SIZE, 1 << 30)
    assert devices.seen == {"meta"}
