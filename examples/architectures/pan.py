"""PAN (Zhao et al., "Efficient Image Super-Resolution Using Pixel Attention", ECCVW 2020, AIM
2020 efficient SR): 16 self-calibrated blocks with pixel attention (SC-PA) of 40 channels, split
into two 20-channel branches by bias-free 1×1 convolutions, one a 3×3 and one a pixel-attention
convolution (a 1×1 + sigmoid gating a 3×3, then a 3×3), fused by a 1×1; a 3×3 trunk convolution
and skip; then twice: nearest ×2, a 3×3 to 24 channels, pixel attention, a 3×3; a 3×3 to RGB,
plus a bilinear ×4 upsampling of the input.

Published: 272,419 parameters (the paper's Table, "272K"). Exact here: 272,419.
"""

import torch
import torch.nn.functional as F
from torch import nn

PUBLISHED_PARAMS = 272_419


def lrelu(x):
    return F.leaky_relu(x, 0.2)


class PA(nn.Module):
    def __init__(self, nf: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(nf, nf, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.conv(x))


class PAConv(nn.Module):
    def __init__(self, nf: int) -> None:
        super().__init__()
        self.k2 = nn.Conv2d(nf, nf, 1)
        self.k3 = nn.Conv2d(nf, nf, 3, padding=1, bias=False)
        self.k4 = nn.Conv2d(nf, nf, 3, padding=1, bias=False)

    def forward(self, x):
        return self.k4(self.k3(x) * torch.sigmoid(self.k2(x)))


class SCPA(nn.Module):
    def __init__(self, nf: int = 40) -> None:
        super().__init__()
        half = nf // 2
        self.conv1_a = nn.Conv2d(nf, half, 1, bias=False)
        self.conv1_b = nn.Conv2d(nf, half, 1, bias=False)
        self.k1 = nn.Conv2d(half, half, 3, padding=1, bias=False)
        self.pa_conv = PAConv(half)
        self.conv3 = nn.Conv2d(nf, nf, 1, bias=False)

    def forward(self, x):
        a = lrelu(self.k1(lrelu(self.conv1_a(x))))
        b = lrelu(self.pa_conv(lrelu(self.conv1_b(x))))
        return self.conv3(torch.cat([a, b], dim=1)) + x


class PAN(nn.Module):
    def __init__(self, nf: int = 40, unf: int = 24, blocks: int = 16) -> None:
        super().__init__()
        self.conv_first = nn.Conv2d(3, nf, 3, padding=1)
        self.trunk = nn.Sequential(*(SCPA(nf) for _ in range(blocks)))
        self.trunk_conv = nn.Conv2d(nf, nf, 3, padding=1)
        self.upconv1 = nn.Conv2d(nf, unf, 3, padding=1)
        self.att1 = PA(unf)
        self.hr_conv1 = nn.Conv2d(unf, unf, 3, padding=1)
        self.upconv2 = nn.Conv2d(unf, unf, 3, padding=1)
        self.att2 = PA(unf)
        self.hr_conv2 = nn.Conv2d(unf, unf, 3, padding=1)
        self.conv_last = nn.Conv2d(unf, 3, 3, padding=1)

    def forward(self, x):
        fea = self.conv_first(x)
        fea = fea + self.trunk_conv(self.trunk(fea))
        fea = self.upconv1(F.interpolate(fea, scale_factor=2, mode="nearest"))
        fea = lrelu(self.hr_conv1(lrelu(self.att1(fea))))
        fea = self.upconv2(F.interpolate(fea, scale_factor=2, mode="nearest"))
        fea = lrelu(self.hr_conv2(lrelu(self.att2(fea))))
        return self.conv_last(fea) + F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)


def build_model():
    return PAN()
