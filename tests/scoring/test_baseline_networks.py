"""The baselines a bundle may name, as the measuring sandbox builds them (scoring/<name>.py): each
network's parameters at each scale against its published figure, and the team-facing examples
(examples/architectures) the same networks, so the two definitions cannot drift."""

import importlib

import pytest
import torch

from scoring import efdn, imdn, msrresnet, rfdn, rlfn, span
from scoring.baselines import BUILT_IN_SANDBOX

NETWORKS = {"MSRResNet": msrresnet, "IMDN": imdn, "RFDN": rfdn, "RLFN": rlfn, "EFDN": efdn, "SPAN": span}
PUBLISHED_X4 = {"MSRResNet": 1_517_571, "IMDN": 893_936, "RFDN": 433_448, "RLFN": 317_218, "EFDN": 0.276e6,
                "SPAN": 0.151e6}
"""The reports' figures (AIM 2019 Tables 1-3, NTIRE 2022 for IMDN, AIM 2020 for RFDN, NTIRE 2024 for RLFN and
SPAN, NTIRE 2025 for EFDN)."""
EXAMPLES = {"IMDN": "imdn_aim2019", "RFDN": "rfdn", "RLFN": "rlfn"}


def params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(BUILT_IN_SANDBOX))
def test_each_built_baseline_has_its_published_parameters_and_upscales_at_each_scale(name):
    module = NETWORKS[name]
    published = PUBLISHED_X4[name]
    for scale in BUILT_IN_SANDBOX[name]:
        model = getattr(module, name)(scale=scale).eval()
        assert params(model) == module.PARAMS[scale], (name, scale)
        with torch.inference_mode():
            assert model(torch.rand(1, 3, 17, 15)).shape == (1, 3, 17 * scale, 15 * scale)
    if isinstance(published, int):
        assert module.PARAMS[4] == published
    else:  # published rounded to the thousand
        assert round(module.PARAMS[4], -3) == published


def test_msrresnet_x2_and_x3_have_one_upsampling_stage_as_basicsr_builds_them():
    assert msrresnet.MSRResNet(scale=2).upconv2 is None
    assert msrresnet.MSRResNet(scale=3).pixel_shuffle.upscale_factor == 3
    assert params(msrresnet.MSRResNet()) == msrresnet.BASELINE_PARAMS


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_team_facing_example_is_the_platforms_network(name):
    example = importlib.import_module(f"examples.architectures.{EXAMPLES[name]}")
    for scale in (2, 3, 4):
        ours = getattr(NETWORKS[name], name)(scale=scale).eval()
        theirs = getattr(example, name)(scale=scale).eval()
        theirs.load_state_dict(ours.state_dict(), strict=True)
        x = torch.rand(1, 3, 16, 18)
        with torch.inference_mode():
            assert torch.equal(ours(x), theirs(x)), (name, scale)
    assert example.PUBLISHED_PARAMS == NETWORKS[name].PARAMS[4]


@pytest.mark.parametrize(("name", "published_gmacs"), [("SPAN", 9.83), ("EFDN", 16.70)])
def test_the_reparameterised_networks_count_their_published_flops(name, published_gmacs):
    """The inference forms (Conv3XC / EDBB folded into plain 3×3 convolutions) are what the reports
    count: MACs on a 1×3×256×256 input ("FLOPs" there) within 0.1 % of the published figure."""
    from torch.utils.flop_counter import FlopCounterMode

    model = getattr(NETWORKS[name], name)().eval()
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(torch.rand(1, 3, 256, 256))
    assert counter.get_total_flops() / 2 / 1e9 == pytest.approx(published_gmacs, rel=1e-3)
