"""IMDN as the rainbow team submitted it to AIM 2019 (report §4.1, Figures 1-2): MSRResNet's 16
residual blocks replaced by 8 information multi-distillation blocks. Each block: a 3×3 convolution
to 64 channels, 16 kept ("distilled") and 48 refined by the next 3×3 convolution, three times, a
last 3×3 to 16, the four 16-channel parts fused by a 1×1 convolution, plus the block's input.
Then a 3×3 convolution with a long skip, and one 3×3 convolution to 48 channels and pixel shuffle ×4.

Published: 893,936 parameters (AIM 2019 report, Tables 1-3; the NTIRE 2022 efficient-SR baseline,
"0.894 M", 58.53 G FLOPs, i.e. MACs
on a 256×256 input). Exact here: 893,936.

The platform's own definition, built as a bundle's baseline at ×2, ×3 or ×4 (the last convolution
then goes to 3·scale² channels); examples/architectures/imdn_aim2019.py is the team-facing copy, and
tests/scoring/test_baseline_networks.py keeps the two the same network. ×2 and ×3 have no published
figure: ``PARAMS`` gives the exact counts.
"""

import torch
import torch.nn.functional as F
from torch import nn

PUBLISHED_PARAMS = 893_936
PARAMS = {2: 873_164, 3: 881_819, 4: PUBLISHED_PARAMS}
"""Exact parameter count at each scale (×4: the published one)."""
PUBLISHED_GMACS = 58.53


class IMDB(nn.Module):
    def __init__(self, nf: int = 64, distilled: int = 16) -> None:
        super().__init__()
        self.distilled, self.remaining = distilled, nf - distilled
        self.c1 = nn.Conv2d(nf, nf, 3, padding=1)
        self.c2 = nn.Conv2d(self.remaining, nf, 3, padding=1)
        self.c3 = nn.Conv2d(self.remaining, nf, 3, padding=1)
        self.c4 = nn.Conv2d(self.remaining, distilled, 3, padding=1)
        self.c5 = nn.Conv2d(distilled * 4, nf, 1)

    def forward(self, x):
        kept = []
        out = x
        for conv in (self.c1, self.c2, self.c3):
            d, out = torch.split(F.leaky_relu(conv(out), 0.05), (self.distilled, self.remaining), dim=1)
            kept.append(d)
        kept.append(self.c4(out))
        return self.c5(torch.cat(kept, dim=1)) + x


class IMDN(nn.Module):
    def __init__(self, nf: int = 64, blocks: int = 8, scale: int = 4) -> None:
        super().__init__()
        self.fea_conv = nn.Conv2d(3, nf, 3, padding=1)
        self.blocks = nn.Sequential(*(IMDB(nf) for _ in range(blocks)))
        self.lr_conv = nn.Conv2d(nf, nf, 3, padding=1)
        self.upsampler = nn.Sequential(nn.Conv2d(nf, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x):
        fea = self.fea_conv(x)
        return self.upsampler(self.lr_conv(self.blocks(fea)) + fea)

