"""The execution plan: a network is run (and so timed) alike however its author wrote it (in-process).

MSRResNet written with in-place activations (the platform's baseline) and out of place (as a team
writes it from its description) ran different kernels and allocations: the baseline's own network
was timed 5-11 % slower than the baseline. Each test here fails on a Program without the plan.
"""

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from scoring.msrresnet import MSRResNet
from worker.sandbox.program import Program, to_program

CPU, META = torch.device("cpu"), torch.device("meta")


def export(model: nn.Module, size=(8, 6)) -> tuple[dict, dict]:
    auto = torch.export.Dim.AUTO
    ep = torch.export.export(model.eval(), (torch.rand(1, 3, *size),), dynamic_shapes=({2: auto, 3: auto},))
    graph, tensors = to_program(ep, {})
    return json.loads(json.dumps(graph)), tensors


class OutOfPlaceMSRResNet(MSRResNet):
    """The baseline's network and weights, written with functional activations and the residual
    sums the other way round: what a team writes from the report's description."""

    def forward(self, x):
        def lrelu(t):
            return F.leaky_relu(t, 0.1)

        out = lrelu(self.conv_first(x))
        for block in self.body:
            out = block.conv2(lrelu(block.conv1(out))) + out
        out = lrelu(F.pixel_shuffle(self.upconv1(out), 2))
        out = lrelu(F.pixel_shuffle(self.upconv2(out), 2))
        out = self.conv_last(lrelu(self.HRconv(out)))
        return F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False) + out


@pytest.fixture(scope="module")
def both_ways():
    torch.manual_seed(0)
    in_place = MSRResNet(nb=2)
    out_of_place = OutOfPlaceMSRResNet(nb=2)
    out_of_place.load_state_dict(in_place.state_dict())
    return in_place, out_of_place


def kernels(program: Program) -> list[str]:
    """What the plan calls, step by step: the op, and whether it writes over an operand."""
    names = []
    for fn, _args, _kwargs in program.plan:
        functional = getattr(fn, "functional", fn)
        names.append(f"{functional._schema.name}{' in place' if functional is not fn else ''}")
    return sorted(names)


def test_the_same_network_written_in_place_or_not_runs_the_same_kernels(both_ways):
    plans = [kernels(Program(*export(model), CPU)) for model in both_ways]
    assert plans[0] == plans[1]
    assert sum("in place" in name for name in plans[0]) >= 2 * 2 + 4  # activations and residual sums


def test_the_same_network_holds_the_same_memory_either_way(both_ways):
    """Peak bytes on the meta device: an out-of-place activation no longer keeps its input alive."""
    peaks = []
    for model in both_ways:
        graph, tensors = export(model)
        meta = Program(graph, {n: t.to(META) for n, t in tensors.items()}, META)
        peaks.append(meta.peak_bytes((1, 3, 40, 48), 1 << 40))
    assert peaks[0] == peaks[1]


def test_the_plan_gives_the_graphs_outputs_bit_for_bit(both_ways):
    x = torch.rand(1, 3, 13, 9)
    with torch.inference_mode():
        expected = both_ways[0](x)
        for model in both_ways:
            program = Program(*export(model), CPU)
            assert torch.equal(program(x), expected)
            assert program.weights_unchanged()


class Aliasing(nn.Module):
    """Writes the plan must leave alone: a view that outlives an in-place write sees the write; a
    view of a weight is never written over; the input neither."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.scale = nn.Parameter(torch.rand(3))

    def forward(self, x):
        y = self.conv(x)
        flat = y.view(-1)          # a view taken before the write ...
        y.relu_()                  # ... must see it
        w = self.scale.view(1, 3, 1, 1)
        z = torch.sigmoid(w) * 2   # sigmoid's operand is a view of a weight: never overwritten
        t = x.transpose(2, 3)      # an operand that is a transposed view of the input
        return (flat.view_as(y) + z) * y + t.transpose(2, 3).abs()


def test_in_place_writes_keep_their_meaning_and_weights_and_input_are_never_written():
    model = Aliasing()
    program = Program(*export(model), CPU)
    x = torch.rand(1, 3, 5, 7)
    before = x.clone()
    with torch.inference_mode():
        assert torch.equal(program(x), model(x))
    assert torch.equal(x, before)
    assert program.weights_unchanged()


def test_a_step_whose_shapes_or_dtype_do_not_fit_runs_out_of_place():
    class Broadcasting(nn.Module):
        def forward(self, x):
            small = x.mean(dim=(2, 3), keepdim=True) * 1.0   # dies at the sum, but 1×3×1×1 cannot hold it
            return small + x

    model = Broadcasting()
    program = Program(*export(model), CPU)
    x = torch.rand(1, 3, 4, 5)
    with torch.inference_mode():
        assert torch.equal(program(x), model(x))
