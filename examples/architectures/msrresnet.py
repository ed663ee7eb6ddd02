"""MSRResNet, the AIM 2019 constrained-SR baseline (Zhang et al., AIM 2019 report, §2): a 3×3
convolution, 16 residual blocks without batch norm, two ×2 pixel-shuffle stages, two 3×3
convolutions, and a bilinear ×4 upsampling of the input added to the output.

Published: 1,517,571 parameters (the report's baseline row). Exact here: 1,517,571.
"""

import torch
import torch.nn.functional as F
from torch import nn

PUBLISHED_PARAMS = 1_517_571


class ResidualBlock(nn.Module):
    def __init__(self, nf: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv2 = nn.Conv2d(nf, nf, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


class MSRResNet(nn.Module):
    def __init__(self, nf: int = 64, blocks: int = 16) -> None:
        super().__init__()
        self.conv_first = nn.Conv2d(3, nf, 3, padding=1)
        self.body = nn.Sequential(*(ResidualBlock(nf) for _ in range(blocks)))
        self.upconv1 = nn.Conv2d(nf, nf * 4, 3, padding=1)
        self.upconv2 = nn.Conv2d(nf, nf * 4, 3, padding=1)
        self.hr_conv = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv_last = nn.Conv2d(nf, 3, 3, padding=1)

    def forward(self, x):
        fea = F.leaky_relu(self.conv_first(x), 0.1)
        out = self.body(fea)
        out = F.leaky_relu(F.pixel_shuffle(self.upconv1(out), 2), 0.1)
        out = F.leaky_relu(F.pixel_shuffle(self.upconv2(out), 2), 0.1)
        out = self.conv_last(F.leaky_relu(self.hr_conv(out), 0.1))
        return out + F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)


def build_model():
    return MSRResNet()
