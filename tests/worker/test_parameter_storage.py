"""A parameter is counted as one number, so it holds one (issue 19.1).

Packing four float16 or eight int8 weights into one float64 parameter and unpacking them with
``view(dtype)`` in forward() divided the parameter count by 4 or 8 at the same PSNR. Parameters
must be float32 and no tensor's bytes may be read as another type; both are checked where stage 2
builds its program (``Program``), so a program written by a hostile stage 1 is refused too.
"""

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from scoring.msrresnet import MSRResNet
from scoring.params import count_unique
from tests.worker.conftest import failure
from worker.sandbox.program import Program, ProgramError, to_program

CPU = torch.device("cpu")

PACKED = """
import torch
import torch.nn.functional as F
from torch import nn

PACKING = {packing!r}


class Packed(nn.Module):
    '''A 3-48 convolution whose 1,296 weights sit in a float64 parameter of 1,296 / (8 / size) numbers.'''

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        weights = (torch.randn(48, 3, 3, 3) * 0.1).to(getattr(torch, PACKING))
        self.packed = nn.Parameter(weights.reshape(-1).view(torch.float64).clone(), requires_grad=False)

    def forward(self, x):
        w = self.packed.view(getattr(torch, PACKING)).float().view(48, 3, 3, 3)
        return F.pixel_shuffle(F.conv2d(x, w, padding=1), 4)


def build_model():
    return Packed()
"""


def exported(model: nn.Module):
    auto = torch.export.Dim.AUTO
    with torch.no_grad():
        return torch.export.export(model.eval(), (torch.rand(1, 3, 16, 16),), dynamic_shapes=({2: auto, 3: auto},),
                                   strict=False)


def module_of(source: str) -> nn.Module:
    namespace: dict = {}
    exec(compile(source, "model.py", "exec"), namespace)  # noqa: S102 - the test's own fixture source
    return namespace["build_model"]()


@pytest.mark.parametrize("packing", ["float16", "int8"])
def test_weights_packed_into_a_float64_parameter_are_refused_by_name(packing):
    ep = exported(module_of(PACKED.format(packing=packing)))
    assert sum(p.numel() for p in ep.state_dict.values()) == {"float16": 324, "int8": 162}[packing]  # of 1,296
    with pytest.raises(ProgramError, match=r"parameters must be float32 \(packed is float64\)"):
        to_program(ep, {})


class ReadAsInt8(nn.Module):
    """Four int8 weights in each float32 parameter, and four more in each float32 buffer."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where
        packed = torch.randint(-100, 100, (48 * 27,), dtype=torch.int8).view(torch.float32)
        if where == "parameter":
            self.packed = nn.Parameter(packed.clone(), requires_grad=False)
        else:
            self.register_buffer("packed", packed.clone())

    def forward(self, x):
        w = self.packed.view(torch.int8).float().div(1000).view(48, 3, 3, 3)
        return F.pixel_shuffle(F.conv2d(x, w, padding=1), 4)


@pytest.mark.parametrize("where", ["parameter", "buffer"])
def test_float32_tensors_read_as_int8_are_refused(where):
    with pytest.raises(ProgramError, match=r"reinterprets a tensor's bytes .*aten::view\.dtype"):
        to_program(exported(ReadAsInt8(where)), {})


@pytest.fixture(scope="module")
def msrresnet_program() -> tuple[dict, dict]:
    graph, tensors = to_program(exported(MSRResNet()), {})
    return json.loads(json.dumps(graph)), tensors


def test_msrresnet_still_counts_its_1517571_parameters(msrresnet_program):
    graph, tensors = msrresnet_program
    program = Program(graph, tensors, CPU)
    assert count_unique(tensors[name] for name in program.param_names) == 1_517_571


def test_a_crafted_program_with_a_float64_parameter_is_refused(msrresnet_program):
    """What a hostile stage 1 writes: the honest graph, one parameter's file tensor made wider."""
    graph, tensors = msrresnet_program
    name = next(spec["tensor"] for spec in graph["inputs"] if spec["kind"] == "parameter")
    wider = {**tensors, name: tensors[name].double()}
    with pytest.raises(ProgramError, match=rf"parameters must be float32 \({name} is float64\)"):
        Program(graph, wider, CPU)


def test_a_crafted_program_cannot_read_bytes_as_another_type(msrresnet_program):
    graph, tensors = msrresnet_program
    param = next(i for i, spec in enumerate(graph["inputs"]) if spec["kind"] == "parameter")
    crafted = json.loads(json.dumps(graph))
    crafted["nodes"].append({"op": "aten::view.dtype", "args": {"list": [{"ref": param}, {"dtype": "int8"}]},
                             "kwargs": {}})
    with pytest.raises(ProgramError, match="reinterprets a tensor's bytes"):
        Program(crafted, tensors, CPU)


@pytest.mark.slow
def test_a_packed_submission_fails_with_the_reason(make_submission, dataset, limits, tmp_path):
    error = failure(make_submission(PACKED.format(packing="int8")), dataset, limits, tmp_path / "work")
    assert "parameters must be float32 (packed is float64)" in str(error)
