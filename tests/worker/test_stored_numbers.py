"""Numbers a model carries outside ``parameters()``: counted by kind, and judged by the review rule.

Hostile models keep their weights in buffers or write them into the graph as literals; an honest
one (SwinIR) keeps non-learned index tables and attention masks. docs/security.md maps each to its test.
"""

import json
import random

import pytest
import torch

from examples.architectures.swinir_light import SwinIRLight
from scoring.msrresnet import MSRResNet
from scoring.review import ReviewLimits, hold_reasons
from tests.worker.conftest import KEYS, evaluate
from worker.sandbox.program import Program, to_program
from worker.sandbox.stored import information, stored_numbers, tensor_numbers

CPU = torch.device("cpu")
LIMITS = ReviewLimits()

HOARDER = """
import random

import torch
import torch.nn.functional as F
from torch import nn

random.seed(0)
LITERALS = [random.randint(-500, 500) for _ in range(288)]


class Hoarder(nn.Module):
    '''Weights kept where parameters() does not see them: a 3-64-48 network whose weights are
    buffers ("params 0"), plus 288 weights written as integer literals (each ``x * w`` is one).'''

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.register_buffer("w1", torch.randn(64, 3, 3, 3) * 0.1)
        self.register_buffer("w2", torch.randn(48, 64, 3, 3) * 0.02)

    def forward(self, x):
        h, w = x.shape[2:]
        convolved = F.conv2d(F.relu(F.conv2d(x, self.w1, padding=1)), self.w2, padding=1)
        mixed = torch.cat([x * weight for weight in LITERALS], 1).view(1, 48, 18, h, w).sum(2)
        return F.pixel_shuffle(convolved + mixed / 100000, 4)


def build_model():
    return Hoarder()
"""


def program_of(model: torch.nn.Module, dynamic: bool = True) -> tuple[dict, Program, dict]:
    auto = torch.export.Dim.AUTO
    ep = torch.export.export(model.eval(), (torch.rand(1, 3, 32, 32),),
                             dynamic_shapes=({2: auto, 3: auto},) if dynamic else None, strict=False)
    graph, tensors = to_program(ep, {})
    graph = json.loads(json.dumps(graph))
    return graph, Program(graph, tensors, CPU), tensors


def test_msrresnet_stores_nothing_but_parameters_and_a_few_literals():
    graph, program, tensors = program_of(MSRResNet(nb=1))
    stored = stored_numbers([(graph, program)], tensors)
    assert stored["buffers"] == stored["constants"] == {"float": 0, "integer": 0}
    assert stored["information"] == 0
    assert stored["value_literals"] == stored["literals"]["float"] > 0  # leaky ReLU slopes, scale factors
    assert hold_reasons(stored, LIMITS) == []


def test_a_buffer_sharing_a_parameters_memory_counts_as_the_parameter_only():
    class Tied(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 48, 3, padding=1)
            self.register_buffer("alias", self.conv.weight.data)
            self.register_buffer("scale", torch.full((48, 1, 1), 0.5))

        def forward(self, x):
            return torch.nn.functional.pixel_shuffle(self.conv(x) * self.scale + self.alias.sum(), 4)

    graph, program, tensors = program_of(Tied())
    assert stored_numbers([(graph, program)], tensors)["buffers"] == {"float": 48, "integer": 0}


def test_swinir_light_index_tables_and_masks_are_counted_and_not_held():
    """At SwinIR-light's real size (4×6 blocks, window 8, 64×64 patches): 3,244,032 stored numbers."""
    buffers = list(SwinIRLight().buffers())
    assert tensor_numbers(buffers) == {"float": 3_145_728, "integer": 98_304}
    assert information(buffers) < LIMITS.non_parameter_storage / 4


def test_a_small_swinir_like_model_is_counted_and_not_held():
    model = SwinIRLight(img_size=32, dim=16, depths=(2,), heads=(2,))
    graph, program, tensors = program_of(model, dynamic=False)
    stored = stored_numbers([(graph, program)], tensors)
    assert stored["buffers"] == {"float": 16 * 64 * 64, "integer": 2 * 64 * 64}  # a mask, two index tables
    assert stored["literal_information"] < LIMITS.literal_information
    assert hold_reasons(stored, LIMITS) == []


def test_random_weights_do_not_compress_and_quantizing_them_does_not_hide_them():
    torch.manual_seed(0)
    weights = torch.randn(20_000)
    assert information([weights]) > 0.9 * 20_000
    assert information([(weights * 40).round().clamp(-127, 127).to(torch.int8)]) > LIMITS.non_parameter_storage
    assert information([torch.zeros(20_000), torch.zeros(20_000)]) < 100  # identical contents count once


def test_literals_in_a_crafted_program_are_counted_by_kind():
    """Stage 1's program is untrusted: literals put into it by hand count like exported ones."""
    graph, program, tensors = program_of(MSRResNet(nb=1))
    before = stored_numbers([(graph, program)], tensors)
    output = graph["output"]
    for i in range(300):
        graph["nodes"].append({"op": "aten::add.Tensor", "args": {"list": [{"ref": output}, i if i % 2 else 0.5]},
                               "kwargs": {}})
        output = len(graph["inputs"]) + len(graph["nodes"]) - 1
    graph["output"] = output
    after = stored_numbers([(graph, Program(graph, tensors, CPU))], tensors)
    assert after["literals"]["integer"] - before["literals"]["integer"] == 150
    assert after["literals"]["float"] - before["literals"]["float"] == 150
    assert after["value_literals"] - before["value_literals"] == 300
    assert "300" not in str(hold_reasons(before, LIMITS)) and hold_reasons(after, LIMITS)


def test_weights_spelt_from_a_small_alphabet_of_literals_are_held():
    """Few distinct values do not hide weights: 1,000 literals of 2 bits each are still held."""
    graph, program, tensors = program_of(MSRResNet(nb=1))
    output = graph["output"]
    rng = random.Random(0)
    for _ in range(1000):
        graph["nodes"].append({"op": "aten::add.Tensor", "args": {"list": [{"ref": output}, rng.randrange(4)]},
                               "kwargs": {}})
        output = len(graph["inputs"]) + len(graph["nodes"]) - 1
    graph["output"] = output
    stored = stored_numbers([(graph, Program(graph, tensors, CPU))], tensors)
    assert stored["literal_information"] > LIMITS.literal_information
    assert "numbers written into it as literals" in hold_reasons(stored, LIMITS)[0]


@pytest.mark.slow
def test_weights_in_buffers_and_literals_are_counted_and_held(make_submission, dataset, limits, tmp_path):
    """Through both sandbox stages, as the worker runs it."""
    evaluation = evaluate(make_submission(HOARDER), dataset, limits, tmp_path / "work", KEYS[:2])
    assert evaluation.params == 0
    assert evaluation.stored["buffers"] == {"float": 64 * 27 + 48 * 64 * 9, "integer": 0}
    assert evaluation.stored["information"] > 0.9 * (64 * 27 + 48 * 64 * 9)
    assert evaluation.stored["literals"]["integer"] >= 288 and evaluation.stored["value_literals"] >= 288
    reasons = hold_reasons(evaluation.stored, LIMITS)
    assert reasons[0].startswith("buffers and constant tensors hold 29,376 numbers that are not parameters")
    assert "numbers written into it as literals" in reasons[1]
