"""Parameter counting: the baseline's published count, tied weights once, buffers never."""

import torch
from torch import nn

from scoring.msrresnet import BASELINE_PARAMS, MSRResNet
from scoring.params import count_unique


def test_msrresnet_has_the_reported_parameter_count():
    assert BASELINE_PARAMS == 1_517_571
    assert count_unique(MSRResNet().parameters()) == 1_517_571


def test_msrresnet_maps_lr_to_4x():
    with torch.inference_mode():
        assert MSRResNet()(torch.rand(1, 3, 6, 5)).shape == (1, 3, 24, 20)


def test_tied_weights_count_once():
    model = nn.Sequential(nn.Linear(4, 4, bias=False), nn.Linear(4, 4, bias=False))
    model[1].weight = model[0].weight
    assert count_unique(model.parameters()) == 16


def test_a_second_parameter_over_the_same_memory_counts_once():
    weight = torch.zeros(3, 5)
    assert count_unique([nn.Parameter(weight), nn.Parameter(weight)]) == 15
    assert count_unique([weight, weight[:1]]) == 20  # a different view is a different tensor


def test_buffers_are_not_parameters():
    assert count_unique(nn.BatchNorm2d(8).parameters()) == 16  # running statistics: tests/worker/test_stored_numbers.py


def test_empty_tensors_add_nothing():
    assert count_unique([torch.empty(0), torch.empty(0, 3)]) == 0
