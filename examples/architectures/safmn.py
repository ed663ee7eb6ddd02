"""SAFMN, ×4 (Sun et al., "Spatially-Adaptive Feature Modulation for Efficient Image
Super-Resolution", ICCV 2023; their NTIRE 2023 efficient-SR entry is a variant): a 3×3 convolution
to 36 channels; 8 blocks, each a spatially-adaptive feature modulation (SAFM) and a convolutional
channel mixer (CCM), both after a channels-first layer norm and both with a skip; a long skip; a
3×3 convolution to 48 channels and pixel shuffle ×4.

SAFM splits its input into 4 channel groups: the first goes through a 3×3 depthwise convolution
at full size, group ``i`` (1-3) is max-pooled to ``(h // 2**i, w // 2**i)``
(``adaptive_max_pool2d``), convolved depthwise and scaled back to ``h × w`` (nearest); the
groups are joined by a 1×1 convolution whose GELU modulates the input. CCM is a 3×3 convolution
to twice the channels, GELU and a 1×1 convolution back.

Quirk kept, as teams submit it: the pooled sizes are integer arithmetic on the input size, which
the export records for the size it saw, so the graph depends on the size (one program per size).

Published: 240K parameters (the paper's efficient-SR comparison, ×4). Exact here: 239,520 (every
convolution with its bias, each layer norm a weight and a bias of 36), which the paper rounds to 240K.
"""

import torch
import torch.nn.functional as F
from torch import nn

PUBLISHED_PARAMS = 239_520


class ChannelsFirstLayerNorm(nn.Module):
    """Layer norm over the channels of an N×C×H×W tensor (as ConvNeXt writes it)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class SAFM(nn.Module):
    def __init__(self, dim: int, levels: int = 4) -> None:
        super().__init__()
        self.levels = levels
        group = dim // levels
        self.mfr = nn.ModuleList(nn.Conv2d(group, group, 3, padding=1, groups=group) for _ in range(levels))
        self.aggr = nn.Conv2d(dim, dim, 1)

    def forward(self, x):
        h, w = x.shape[-2:]
        parts = []
        for i, part in enumerate(x.chunk(self.levels, dim=1)):
            if i == 0:
                parts.append(self.mfr[0](part))
            else:
                pooled = F.adaptive_max_pool2d(part, (h // 2**i, w // 2**i))
                parts.append(F.interpolate(self.mfr[i](pooled), size=(h, w), mode="nearest"))
        return F.gelu(self.aggr(torch.cat(parts, dim=1))) * x


class CCM(nn.Module):
    def __init__(self, dim: int, growth: float = 2.0) -> None:
        super().__init__()
        hidden = int(dim * growth)
        self.ccm = nn.Sequential(nn.Conv2d(dim, hidden, 3, padding=1), nn.GELU(), nn.Conv2d(hidden, dim, 1))

    def forward(self, x):
        return self.ccm(x)


class Block(nn.Module):
    def __init__(self, dim: int, growth: float) -> None:
        super().__init__()
        self.norm1, self.norm2 = ChannelsFirstLayerNorm(dim), ChannelsFirstLayerNorm(dim)
        self.safm = SAFM(dim)
        self.ccm = CCM(dim, growth)

    def forward(self, x):
        x = self.safm(self.norm1(x)) + x
        return self.ccm(self.norm2(x)) + x


class SAFMN(nn.Module):
    def __init__(self, dim: int = 36, blocks: int = 8, growth: float = 2.0, scale: int = 4) -> None:
        super().__init__()
        self.to_feat = nn.Conv2d(3, dim, 3, padding=1)
        self.feats = nn.Sequential(*(Block(dim, growth) for _ in range(blocks)))
        self.to_img = nn.Sequential(nn.Conv2d(dim, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x):
        x = self.to_feat(x)
        return self.to_img(self.feats(x) + x)


def build_model():
    return SAFMN()
