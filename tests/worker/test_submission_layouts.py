"""How real teams package models (issue 13.4): checkpoints from DataParallel and BasicSR, a team
package named ``model``, and a module named like one of the runner's own (reserved names)."""

import numpy as np
import pytest
import torch
from PIL import Image

from scoring.psnr import psnr
from tests.worker.conftest import KEYS, TINY_MODEL, evaluate, failure

TWO = KEYS[:2]


def tiny_weights(seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return {"conv.weight": torch.randn(48, 3, 3, 3) * 0.2, "conv.bias": torch.rand(48) * 0.5}


def eager_psnr(weights: dict[str, torch.Tensor], dataset) -> float:
    """TINY_MODEL (one 3×3 convolution and pixel shuffle) with ``weights``, as the platform rounds it."""
    lr_dir, hr_dir = dataset
    scores = []
    for key in TWO:
        lr = torch.from_numpy(np.asarray(Image.open(lr_dir / f"{key}x4.png")).copy()).permute(2, 0, 1)[None] / 255
        out = torch.pixel_shuffle(torch.conv2d(lr, weights["conv.weight"], weights["conv.bias"], padding=1), 4)
        sr = (out.clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
        scores.append(psnr(sr, np.load(hr_dir / f"{key}.npy"), name=key).db)
    return sum(scores) / len(scores)


@pytest.mark.slow
def test_dataparallel_prefixes_are_removed_and_said(make_submission, dataset, limits, tmp_path):
    code = make_submission()
    weights = tiny_weights(1)
    torch.save({f"module.{name}": value for name, value in weights.items()}, code / "model.pth")
    evaluation = evaluate(code, dataset, limits, tmp_path / "work", keys=TWO)
    assert "removed the prefix 'module.'" in evaluation.log
    assert evaluation.psnr == pytest.approx(eager_psnr(weights, dataset), abs=1e-3)


@pytest.mark.slow
def test_basicsr_checkpoint_scores_its_ema_weights_and_says_so(make_submission, dataset, limits, tmp_path):
    code = make_submission()
    ema = tiny_weights(2)
    torch.save({"params": tiny_weights(3), "params_ema": ema, "iter": 500000}, code / "model.pth")
    evaluation = evaluate(code, dataset, limits, tmp_path / "work", keys=TWO)
    assert "took 'params_ema' from model.pth" in evaluation.log
    assert evaluation.psnr == pytest.approx(eager_psnr(ema, dataset), abs=1e-3)
    assert evaluation.psnr != pytest.approx(eager_psnr(tiny_weights(3), dataset), abs=1e-2)


@pytest.mark.slow
def test_a_team_package_named_model_imports(make_submission, dataset, limits, tmp_path):
    """The KAIR/BasicSR layout: model.py beside a ``model/`` package that holds the architecture."""
    code = make_submission("from model.arch import build_model\n", files={"model/__init__.py": ""})
    (code / "model" / "arch.py").write_text(TINY_MODEL)
    evaluation = evaluate(code, dataset, limits, tmp_path / "work", keys=TWO)
    assert evaluation.params == 3 * 48 * 9 + 48


@pytest.mark.slow
def test_a_module_named_like_the_runners_own_is_refused_with_the_reserved_names(make_submission, dataset, limits,
                                                                                  tmp_path):
    code = make_submission("from program import build_model\n", files={"program.py": TINY_MODEL})
    reason = str(failure(code, dataset, limits, tmp_path / "work"))
    assert "module named program" in reason and "export_runner" in reason


@pytest.mark.slow
def test_a_model_folder_without_init_beside_model_py_imports_as_the_team_wrote_it(make_submission, dataset, limits,
                                                                                   tmp_path):
    """RLFN's repository layout (issue 19): ``model/`` without ``__init__.py``, whose modules import
    each other as ``from model import block``; model.py ran twice and failed ("'model' is not a package")."""
    code = make_submission("print('model.py runs')\nfrom model.rlfn_ntire import Net\n\n\ndef build_model():\n"
                           "    return Net()\n",
                           files={"model/block.py": TINY_MODEL,
                                  "model/rlfn_ntire.py": "from model import block\n\n\nclass Net(block.Tiny):\n"
                                                         "    pass\n"})
    evaluation = evaluate(code, dataset, limits, tmp_path / "work", keys=TWO)
    assert evaluation.params == 3 * 48 * 9 + 48
    assert evaluation.log.count("model.py runs") == 1
