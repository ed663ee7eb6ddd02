"""RFDN, the AIM 2020 efficient-SR winner (Liu, Tang, Wu, "Residual Feature Distillation Network for
Lightweight Image Super-Resolution", ECCVW 2020): 4 residual feature distillation blocks of 50
channels. In each, three steps keep 25 channels through a 1×1 convolution and refine the rest
with a shallow residual block (3×3 + identity), a last 3×3 to 25, a 1×1 fusion to 50 and enhanced
spatial attention (ESA: 1×1 down to 12 channels, a strided 3×3, max-pooling 7/3, three 3×3,
bilinear upsampling back to the input's size, a 1×1 up and a sigmoid mask). The four block
outputs are fused by a 1×1 convolution; a 3×3 with a long skip; a 3×3 to 48 and pixel shuffle ×4.

Published: 0.433 M parameters, 27.10 G FLOPs on a 256×256 input (AIM 2020 efficient-SR report;
the NTIRE 2023 efficient-SR baseline row). Exact here: 433,448. The "FLOPs" of those tables are
multiply-accumulates (MACs).

The platform's own definition, built as a bundle's baseline at ×2, ×3 or ×4 (the last convolution
then goes to 3·scale² channels); examples/architectures/rfdn.py is the team-facing copy, and
tests/scoring/test_baseline_networks.py keeps the two the same network. ×2 and ×3 have no published
figure: ``PARAMS`` gives the exact counts.
"""

import torch
import torch.nn.functional as F
from torch import nn

PUBLISHED_PARAMS = 433_448
PARAMS = {2: 417_212, 3: 423_977, 4: PUBLISHED_PARAMS}
"""Exact parameter count at each scale (×4: the published one)."""
PUBLISHED_GMACS = 27.10


class ESA(nn.Module):
    def __init__(self, nf: int, f: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(nf, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv_max = nn.Conv2d(f, f, 3, padding=1)
        self.conv2 = nn.Conv2d(f, f, 3, stride=2)
        self.conv3 = nn.Conv2d(f, f, 3, padding=1)
        self.conv3_ = nn.Conv2d(f, f, 3, padding=1)
        self.conv4 = nn.Conv2d(f, nf, 1)

    def forward(self, x):
        c1_ = self.conv1(x)
        pooled = F.max_pool2d(self.conv2(c1_), kernel_size=7, stride=3)
        c3 = self.conv3_(F.relu(self.conv3(F.relu(self.conv_max(pooled)))))
        c3 = F.interpolate(c3, size=x.shape[2:], mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.conv4(c3 + self.conv_f(c1_)))


class RFDB(nn.Module):
    def __init__(self, nf: int = 50) -> None:
        super().__init__()
        dc = nf // 2
        self.distill = nn.ModuleList(nn.Conv2d(nf, dc, 1) for _ in range(3))
        self.refine = nn.ModuleList(nn.Conv2d(nf, nf, 3, padding=1) for _ in range(3))
        self.c4 = nn.Conv2d(nf, dc, 3, padding=1)
        self.c5 = nn.Conv2d(dc * 4, nf, 1)
        self.esa = ESA(nf, nf // 4)

    def forward(self, x):
        kept, r = [], x
        for distill, refine in zip(self.distill, self.refine):
            kept.append(F.leaky_relu(distill(r), 0.05))
            r = F.leaky_relu(refine(r) + r, 0.05)
        kept.append(F.leaky_relu(self.c4(r), 0.05))
        return self.esa(self.c5(torch.cat(kept, dim=1)))


class RFDN(nn.Module):
    def __init__(self, nf: int = 50, blocks: int = 4, scale: int = 4) -> None:
        super().__init__()
        self.fea_conv = nn.Conv2d(3, nf, 3, padding=1)
        self.blocks = nn.ModuleList(RFDB(nf) for _ in range(blocks))
        self.c = nn.Conv2d(nf * blocks, nf, 1)
        self.lr_conv = nn.Conv2d(nf, nf, 3, padding=1)
        self.upsampler = nn.Sequential(nn.Conv2d(nf, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x):
        fea = self.fea_conv(x)
        outs, out = [], fea
        for block in self.blocks:
            out = block(out)
            outs.append(out)
        fused = F.leaky_relu(self.c(torch.cat(outs, dim=1)), 0.05)
        return self.upsampler(self.lr_conv(fused) + fea)

