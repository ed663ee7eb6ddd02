"""EFDN, the NTIRE 2025 efficient-SR baseline (Wang, "Edge-Enhanced Feature Distillation Network
for Efficient Super-Resolution", CVPRW 2022; NTIRE 2023's overall winner), in the deploy form its
author times (github.com/icandle/EFDN, models/EFDN_deploy.py): every edge-enhanced diverse branch
block (3×3, 1×1, 1×1-3×3, Sobel and Laplacian branches, trained) re-parameterised into one 3×3
convolution with a PReLU. A 3×3 head to 48 channels; four cells, each a 1×1 convolution with
PReLU, two such 3×3 blocks, the cell's input and the three outputs each reduced to 24 channels by
a 1×1, fused by a 1×1, enhanced spatial attention (as RFDN's, 12 channels) and the cell's input
added; 1×1 fusions of cells 1-2, 2-3 and 2-4 between them; the head added back; a 3×3 to
3·scale² with pixel shuffle, clamped to [0, 1].

Published: 0.276 M parameters, 16.70 G FLOPs (MACs on 256×256) at ×4 (NTIRE 2025 efficient-SR report's
baseline row). Exact here: 276,192 parameters and 16.69 G MACs; ×2 and ×3 (no published figure)
differ only in the last convolution: ``PARAMS``.
"""

import torch
import torch.nn.functional as F
from torch import nn

try:  # the measuring sandbox runs these files side by side; the worker and the tests import the package
    from rfdn import ESA
except ModuleNotFoundError:
    from scoring.rfdn import ESA

PARAMS = {2: 260_604, 3: 267_099, 4: 276_192}
"""Exact parameter count at each scale (×4: the published 0.276 M)."""


class ConvPReLU(nn.Module):
    """A convolution and a per-channel PReLU (a re-parameterised EDBB when 3×3)."""

    def __init__(self, nf: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(nf, nf, kernel, padding=kernel // 2)
        self.act = nn.PReLU(nf)

    def forward(self, x):
        return self.act(self.conv(x))


class Cell(nn.Module):
    def __init__(self, nf: int) -> None:
        super().__init__()
        self.conv1, self.conv2, self.conv3 = ConvPReLU(nf, 1), ConvPReLU(nf, 3), ConvPReLU(nf, 3)
        self.branch = nn.ModuleList(nn.Conv2d(nf, nf // 2, 1) for _ in range(4))
        self.fuse = nn.Conv2d(nf * 2, nf, 1)
        self.att = ESA(nf, nf // 4)

    def forward(self, x):
        out1 = self.conv1(x)
        out2 = self.conv2(out1)
        out3 = self.conv3(out2)
        parts = [branch(part) for branch, part in zip(self.branch, (x, out1, out2, out3))]
        return self.att(self.fuse(torch.cat(parts, dim=1))) + x


class EFDN(nn.Module):
    def __init__(self, nf: int = 48, scale: int = 4) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, nf, 3, padding=1)
        self.cells = nn.ModuleList(Cell(nf) for _ in range(4))
        self.local_fuse = nn.ModuleList(nn.Conv2d(nf * 2, nf, 1) for _ in range(3))
        self.tail = nn.Sequential(nn.Conv2d(nf, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x):
        out0 = self.head(x)
        out1 = self.cells[0](out0)
        out2 = self.cells[1](out1)
        out3 = self.cells[2](self.local_fuse[0](torch.cat([out1, out2], dim=1)))
        out4 = self.cells[3](self.local_fuse[1](torch.cat([out2, out3], dim=1)))
        out = self.local_fuse[2](torch.cat([out2, out4], dim=1)) + out0
        return self.tail(out).clamp(0, 1)
