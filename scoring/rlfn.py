"""RLFN as ByteESR submitted it to NTIRE 2022 efficient SR (Kong et al., "Residual Local Feature
Network for Efficient Super-Resolution", CVPRW 2022): 4 residual local feature blocks of 46
channels (three 3×3 convolutions through 48 channels with LeakyReLU 0.05, a local skip, a 1×1
convolution and a lighter ESA with 16 channels: no max-pool branch convolution), a 3×3
convolution with a long skip, a 3×3 to 48 and pixel shuffle ×4.

Published: 0.317 M parameters, 19.70 G FLOPs (NTIRE 2022 efficient-SR report; ByteESR's
RLFN_ntire; the authors' README). Exact here: 317,218. FLOPs there are MACs on a 256×256 input.

The platform's own definition, built as a bundle's baseline at ×2, ×3 or ×4 (the last convolution
then goes to 3·scale² channels); examples/architectures/rlfn.py is the team-facing copy, and
tests/scoring/test_baseline_networks.py keeps the two the same network. ×2 and ×3 have no published
figure: ``PARAMS`` gives the exact counts.
"""

import torch
import torch.nn.functional as F
from torch import nn

PUBLISHED_PARAMS = 317_218
PARAMS = {2: 302_278, 3: 308_503, 4: PUBLISHED_PARAMS}
"""Exact parameter count at each scale (×4: the published one)."""
PUBLISHED_GMACS = 19.70


class ESA(nn.Module):
    def __init__(self, channels: int, nf: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(nf, channels, 1)
        self.conv_f = nn.Conv2d(channels, channels, 1)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=2)
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv4 = nn.Conv2d(channels, nf, 1)

    def forward(self, x):
        c1_ = self.conv1(x)
        c3 = self.conv3(F.max_pool2d(self.conv2(c1_), kernel_size=7, stride=3))
        c3 = F.interpolate(c3, size=x.shape[2:], mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.conv4(c3 + self.conv_f(c1_)))


class RLFB(nn.Module):
    def __init__(self, nf: int, mid: int, esa: int = 16) -> None:
        super().__init__()
        self.c1_r = nn.Conv2d(nf, mid, 3, padding=1)
        self.c2_r = nn.Conv2d(mid, mid, 3, padding=1)
        self.c3_r = nn.Conv2d(mid, nf, 3, padding=1)
        self.c5 = nn.Conv2d(nf, nf, 1)
        self.esa = ESA(esa, nf)

    def forward(self, x):
        out = F.leaky_relu(self.c1_r(x), 0.05)
        out = F.leaky_relu(self.c2_r(out), 0.05)
        out = F.leaky_relu(self.c3_r(out), 0.05)
        return self.esa(self.c5(out + x))


class RLFN(nn.Module):
    def __init__(self, nf: int = 46, mid: int = 48, blocks: int = 4, scale: int = 4) -> None:
        super().__init__()
        self.conv_1 = nn.Conv2d(3, nf, 3, padding=1)
        self.blocks = nn.Sequential(*(RLFB(nf, mid) for _ in range(blocks)))
        self.conv_2 = nn.Conv2d(nf, nf, 3, padding=1)
        self.upsampler = nn.Sequential(nn.Conv2d(nf, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x):
        fea = self.conv_1(x)
        return self.upsampler(self.conv_2(self.blocks(fea)) + fea)

