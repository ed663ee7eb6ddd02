"""The program format stage 1 hands to the measuring stage: data only, checked, pure (in-process)."""

import json

import pytest
import torch

from scoring.msrresnet import MSRResNet
from worker.sandbox.program import Program, ProgramError, to_program

CPU = torch.device("cpu")


def export(model: torch.nn.Module) -> tuple[dict, dict]:
    auto = torch.export.Dim.AUTO
    ep = torch.export.export(model.eval(), (torch.rand(1, 3, 8, 6),), dynamic_shapes=({2: auto, 3: auto},))
    graph, tensors = to_program(ep, {})
    return json.loads(json.dumps(graph)), tensors


def test_program_runs_msrresnet_like_eager_on_any_size():
    model = MSRResNet()
    graph, tensors = export(model)
    program = Program(graph, tensors, CPU)
    x = torch.rand(1, 3, 11, 7)
    with torch.inference_mode():
        assert torch.allclose(program(x), model(x), atol=1e-5)
    assert sum(tensors[n].numel() for n in program.param_names) == 1_517_571


@pytest.fixture(scope="module")
def small_program() -> tuple[dict, dict]:
    return export(MSRResNet(nb=1))


@pytest.mark.parametrize("op", ["torch.load", "builtins.eval", "os.system", "aten::from_file.default",
                                "aten::__class__.default", "aten::set_.source_Tensor", "prims::add.default",
                                "mylib::op.default", "aten::add_.Tensor", "aten::copy_.default"])
def test_program_refuses_code_file_access_and_writes_to_its_input(op, small_program):
    graph, tensors = json.loads(json.dumps(small_program[0])), small_program[1]
    graph["nodes"][0]["op"] = op
    with pytest.raises(ProgramError):
        Program(graph, tensors, CPU)


def test_program_refuses_references_to_later_values(small_program):
    graph, tensors = json.loads(json.dumps(small_program[0])), small_program[1]
    graph["nodes"][0]["args"] = {"list": [{"ref": len(graph["inputs"]) + 5}]}
    with pytest.raises(ProgramError, match="before it is computed"):
        Program(graph, tensors, CPU)


def test_writes_to_weights_are_refused_even_through_views(small_program):
    graph, tensors = json.loads(json.dumps(small_program[0])), small_program[1]
    weight = next(i for i, spec in enumerate(graph["inputs"]) if spec["kind"] == "parameter")
    view = len(graph["inputs"]) + len(graph["nodes"])
    graph["nodes"] += [{"op": "aten::_unsafe_view.default", "args": {"list": [{"ref": weight}, {"list": [-1]}]},
                        "kwargs": {}},
                       {"op": "aten::mul_.Scalar", "args": {"list": [{"ref": view}, 2.0]}, "kwargs": {}}]
    with pytest.raises(ProgramError, match="writes in place to the model's weights"):
        Program(graph, tensors, CPU)


def test_in_place_ops_on_intermediate_values_are_fine_and_weights_are_watched(small_program):
    program = Program(*small_program, CPU)
    assert any(fn._schema.name == "aten::leaky_relu_" for fn, _, _ in program.steps)  # as MSRResNet writes it
    with torch.inference_mode():
        program(torch.rand(1, 3, 5, 5))
    assert program.weights_unchanged()
    next(iter(program.tensors.values())).view(-1)[0] += 1
    assert not program.weights_unchanged()


def test_models_that_write_to_their_buffers_are_refused():
    class Counter(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("calls", torch.zeros(1))

        def forward(self, x):
            self.calls += 1
            return x * self.calls

    with pytest.raises(ProgramError, match="pure function"):
        export(Counter())
