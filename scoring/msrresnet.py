"""MSRResNet, the AIM 2019 baseline (report §2.2), as in BasicSR's ``MSRResNet`` / ``znsc/MSRResNet``.

16 residual blocks without batch norm (conv-LeakyReLU(0.1)-conv plus identity), 64 channels,
two ×2 pixel-shuffle stages at ×4 (one ×2 or ×3 stage at ×2 / ×3, as BasicSR builds it), ``HRconv``
and ``conv_last``, and a global skip that adds the bilinearly upsampled LR input. At ×4 it has
exactly ``BASELINE_PARAMS`` parameters, the report's figure; ×2 and ×3 have no published figure:
``PARAMS`` gives the exact counts (×4 less ``upconv2``; ×3's one stage to 64·9 channels). No weights are ever
downloaded: the platform uses it only to time the baseline on the same device as a submission,
for which random initialisation costs the same as trained weights.
"""

import torch
from torch import nn
from torch.nn import functional as F

BASELINE_PARAMS = 1_517_571
"""Parameter count the report gives for the baseline (§2.2); the test suite checks the class."""
PARAMS = {2: 1_369_859, 3: 1_554_499, 4: BASELINE_PARAMS}
"""Exact parameter count at each scale (×4: the published one)."""


class ResidualBlockNoBN(nn.Module):
    """conv3x3 → LeakyReLU(0.1) → conv3x3, added to the input (no batch norm)."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.lrelu(self.conv1(x)))


class MSRResNet(nn.Module):
    """MSRResNet ×``scale`` (2, 3 or 4); input 1×3×h×w RGB in [0, 1], output 1×3×(scale·h)×(scale·w)."""

    def __init__(self, in_nc: int = 3, out_nc: int = 3, nf: int = 64, nb: int = 16, scale: int = 4) -> None:
        super().__init__()
        if scale not in PARAMS:
            raise ValueError(f"MSRResNet upscales ×2, ×3 or ×4, not ×{scale}")
        self.scale = scale
        self.conv_first = nn.Conv2d(in_nc, nf, 3, 1, 1)
        self.body = nn.Sequential(*(ResidualBlockNoBN(nf) for _ in range(nb)))
        stage = 3 if scale == 3 else 2
        self.upconv1 = nn.Conv2d(nf, nf * stage * stage, 3, 1, 1)
        self.upconv2 = nn.Conv2d(nf, nf * 4, 3, 1, 1) if scale == 4 else None
        self.pixel_shuffle = nn.PixelShuffle(stage)
        self.HRconv = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, out_nc, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.lrelu(self.conv_first(x))
        out = self.body(feat)
        out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
        if self.upconv2 is not None:
            out = self.lrelu(self.pixel_shuffle(self.upconv2(out)))
        out = self.conv_last(self.lrelu(self.HRconv(out)))
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return out + base
