"""SPAN, the NTIRE 2024 efficient-SR winner (XiaomiMM; Wan et al., "Swift Parameter-free Attention
Network for Efficient Super-Resolution", CVPRW 2024), in the inference form its authors time: every
Conv3XC (1×1 → 3×3 → 1×1 plus a 1×1 skip, trained) re-parameterised into the one plain 3×3
convolution it evaluates as (``eval_conv``). A Conv3XC stem from RGB to 28 channels, six SPAB blocks
(three 3×3 convolutions, SiLU between them, and the parameter-free attention
``(c3 + x) * (sigmoid(c3) − 0.5)``), a 3×3 after the last block, a 1×1 fusing the stem, the last
block, the first block and the last block's first convolution, and a 3×3 to 3·scale² with pixel
shuffle. The input is shifted by the DIV2K mean and scaled to 0..255, as the authors' code does.

Published: 0.151 M parameters, 9.83 G FLOPs (MACs on 256×256) at ×4 (NTIRE 2024 efficient-SR report). Exact
here: 150,688 parameters and 9.83 G MACs at ×4; ×2 and ×3 (no published figure) differ only in the
last convolution: ``PARAMS``.
"""

import torch
import torch.nn.functional as F
from torch import nn

PARAMS = {2: 141_580, 3: 145_375, 4: 150_688}
"""Exact parameter count at each scale (×4: the published 0.151 M)."""
RGB_MEAN = (0.4488, 0.4371, 0.4040)


def conv3(c_in: int, c_out: int) -> nn.Conv2d:
    """A re-parameterised Conv3XC: one 3×3 convolution with bias."""
    return nn.Conv2d(c_in, c_out, 3, padding=1)


class SPAB(nn.Module):
    def __init__(self, nf: int) -> None:
        super().__init__()
        self.c1_r, self.c2_r, self.c3_r = conv3(nf, nf), conv3(nf, nf), conv3(nf, nf)

    def forward(self, x):
        out1 = self.c1_r(x)
        out3 = self.c3_r(F.silu(self.c2_r(F.silu(out1))))
        return (out3 + x) * (torch.sigmoid(out3) - 0.5), out1


class SPAN(nn.Module):
    def __init__(self, nf: int = 28, blocks: int = 6, scale: int = 4) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1), persistent=False)
        self.conv_1 = conv3(3, nf)
        self.blocks = nn.ModuleList(SPAB(nf) for _ in range(blocks))
        self.conv_2 = conv3(nf, nf)
        self.conv_cat = nn.Conv2d(nf * 4, nf, 1)
        self.upsampler = nn.Sequential(conv3(nf, 3 * scale * scale), nn.PixelShuffle(scale))

    def forward(self, x):
        feature = self.conv_1((x - self.mean) * 255)
        out, first, before_last = feature, None, None
        for block in self.blocks:
            out, out1 = block(out)
            first = out if first is None else first
            before_last = out1
        out = self.conv_cat(torch.cat([feature, self.conv_2(out), first, before_last], 1))
        return self.upsampler(out)
