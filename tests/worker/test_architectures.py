"""Compatibility suite (issue 13.4): published efficient-SR networks, submitted as teams submit them.

Each network in examples/architectures is run through both sandbox stages on odd LR sizes
(63×50 and 57×86; 256×256 is exported too, for the MACs count). The platform must count exactly
the parameters the fixture states (and why they relate to the published figure), the published
MACs where the fixture gives them (within 1 %: tools differ on biases), hold none for review, and its PSNR
must equal the team's eager model, run here in-process with the same weights, to 1e-3 dB on every
image. Random weights: equality is what is tested, not quality.
"""

import importlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from scoring.psnr import psnr
from scoring.review import ReviewLimits, hold_reasons
from tests.worker.conftest import evaluate
from worker.sandbox.launcher import SandboxLimits

ARCHITECTURES = ["msrresnet", "imdn_aim2019", "rfdn", "rlfn", "pan", "carn_m", "edsr_baseline", "swinir_light",
                 "safmn"]
OVER_THE_OLD_LITERAL_COUNT = {"swinir_light": 279}
"""Literals used as values where a count limit of 256 held the published model (issue 19): KAIR's
SwinIR-light repeats its dropouts' 0.0, norm epsilons and mask numbers in every layer."""
SIZES = {"odd-a": (63, 50), "odd-b": (57, 86)}


def fixture_module(name: str):
    return importlib.import_module(f"examples.architectures.{name}")


@pytest.fixture(scope="module")
def odd_dataset(tmp_path_factory) -> tuple[Path, Path]:
    """HR images 4× the odd LR sizes (smooth colour gradients and noise) and their box-filtered LR."""
    root = tmp_path_factory.mktemp("odd")
    lr_dir, hr_dir = root / "lr", root / "hr"
    lr_dir.mkdir()
    hr_dir.mkdir()
    rng = np.random.default_rng(13)
    for key, (h, w) in SIZES.items():
        yy, xx = np.mgrid[0:4 * h, 0:4 * w] / (4 * max(h, w))
        hr = np.stack([np.sin(5 * xx + 3 * yy + p) for p in rng.uniform(0, 6, 3)], axis=-1)
        hr = np.clip((hr + 1) * 127.5 + rng.normal(0, 6, hr.shape), 0, 255).astype(np.uint8)
        np.save(hr_dir / f"{key}.npy", hr)
        lr = hr.reshape(h, 4, w, 4, 3).mean(axis=(1, 3)).round().astype(np.uint8)
        Image.fromarray(lr).save(lr_dir / f"{key}x4.png")
    return lr_dir, hr_dir


@pytest.fixture(scope="module")
def roomy_limits() -> SandboxLimits:
    return SandboxLimits(memory_bytes=8 << 30, wall_seconds=300, cpu_seconds=600, processes=64,
                         file_size_bytes=64 << 20, disk_bytes=256 << 20, log_bytes=16 << 10, threads=1)


def submission_of(name: str, folder: Path) -> tuple[Path, torch.nn.Module, float]:
    """The fixture as a team's zip would hold it: model.py, model.safetensors, submission.yaml."""
    module = fixture_module(name)
    folder.mkdir()
    (folder / "model.py").write_text(Path(module.__file__).read_text())
    torch.manual_seed(0)
    model = module.build_model().eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, folder / "model.safetensors")
    yaml_text = getattr(module, "SUBMISSION_YAML", "data_range: 1\n")
    (folder / "submission.yaml").write_text(yaml_text)
    return folder, model, 255.0 if "data_range: 255" in yaml_text else 1.0


def eager_psnr(model: torch.nn.Module, data_range: float, lr_dir: Path, hr_dir: Path) -> dict[str, float]:
    """The team's own evaluation: its model in eager mode, outputs rounded as the platform rounds them."""
    scores = {}
    with torch.inference_mode():
        for key in SIZES:
            lr = np.asarray(Image.open(lr_dir / f"{key}x4.png").convert("RGB"))
            x = torch.from_numpy(lr.copy()).permute(2, 0, 1)[None].float() * (data_range / 255)
            y = model(x).clamp(0, data_range) * (255 / data_range)
            sr = y.round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
            scores[key] = psnr(sr, np.load(hr_dir / f"{key}.npy"), name=key).db
    return scores


@pytest.mark.slow
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_published_network_scores_exactly_its_eager_psnr(name, odd_dataset, roomy_limits, tmp_path):
    code_dir, model, data_range = submission_of(name, tmp_path / "submission")
    evaluation = evaluate(code_dir, odd_dataset, roomy_limits, tmp_path / "work", keys=list(SIZES))
    published = fixture_module(name).PUBLISHED_PARAMS
    assert evaluation.params == published == sum(p.numel() for p in model.parameters())
    if hasattr(fixture_module(name), "PUBLISHED_GMACS"):  # the tables' "FLOPs": MACs at 256×256, within 1 %
        assert evaluation.macs / 1e9 == pytest.approx(fixture_module(name).PUBLISHED_GMACS, rel=0.01)
    assert hold_reasons(evaluation.stored, ReviewLimits()) == [], "a published model is never held for review"
    if name in OVER_THE_OLD_LITERAL_COUNT:
        assert evaluation.stored["value_literals"] == OVER_THE_OLD_LITERAL_COUNT[name]
    eager = eager_psnr(model, data_range, *odd_dataset)
    for key, value in eager.items():
        assert evaluation.image_psnr[key].db == pytest.approx(value, abs=1e-3), key
    assert evaluation.psnr == pytest.approx(sum(eager.values()) / len(eager), abs=1e-3)


@pytest.mark.slow
def test_a_0_to_255_model_submitted_with_data_range_1_is_told_the_range_may_be_wrong(odd_dataset, roomy_limits,
                                                                                       tmp_path):
    code_dir, _model, _range = submission_of("edsr_baseline", tmp_path / "submission")
    (code_dir / "submission.yaml").write_text("data_range: 1\n")
    evaluation = evaluate(code_dir, odd_dataset, roomy_limits, tmp_path / "work", keys=list(SIZES))
    assert "the data range may be wrong" in evaluation.log and "set data_range: 255" in evaluation.log
