"""MSRResNet, the AIM 2019 baseline (report §2.2), as in BasicSR's ``MSRResNet`` / ``znsc/MSRResNet``.

16 residual blocks without batch norm (conv-LeakyReLU(0.1)-conv plus identity), 64 channels,
two ×2 pixel-shuffle stages, ``HRconv`` and ``conv_last``, and a global skip that adds the
bilinearly upsampled LR input. It has exactly ``BASELINE_PARAMS`` parameters. No weights are ever
downloaded: the platform uses it only to time the baseline on the same device as a submission,
for which random initialisation costs the same as trained weights.
"""

import torch
from torch import nn
from torch.nn import functional as F

BASELINE_PARAMS = 1_517_571
"""Parameter count the report gives for the baseline (§2.2); the test suite checks the class."""


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
    """×4 MSRResNet; input 1×3×h×w RGB in [0, 1], output 1×3×4h×4w."""

    def __init__(self, in_nc: int = 3, out_nc: int = 3, nf: int = 64, nb: int = 16) -> None:
        super().__init__()
        self.conv_first = nn.Conv2d(in_nc, nf, 3, 1, 1)
        self.body = nn.Sequential(*(ResidualBlockNoBN(nf) for _ in range(nb)))
        self.upconv1 = nn.Conv2d(nf, nf * 4, 3, 1, 1)
        self.upconv2 = nn.Conv2d(nf, nf * 4, 3, 1, 1)
        self.pixel_shuffle = nn.PixelShuffle(2)
        self.HRconv = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, out_nc, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.lrelu(self.conv_first(x))
        out = self.body(feat)
        out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
        out = self.lrelu(self.pixel_shuffle(self.upconv2(out)))
        out = self.conv_last(self.lrelu(self.HRconv(out)))
        base = F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)
        return out + base
