"""EDSR-baseline ×4 (Lim et al., "Enhanced Deep Residual Networks for Single Image
Super-Resolution", CVPRW 2017): mean shift (a 1×1 convolution with frozen weights, counted by
``sum(p.numel())``), a 3×3 head, 16 residual blocks of 64 channels without batch norm (residual
scaling 1), a 3×3 body end with a long skip, two ×2 pixel-shuffle stages, a 3×3 tail, mean shift
back. Quirk kept: it works on 0..255 inputs (``rgb_range=255``), so its submission.yaml says
``data_range: 255``.

Published: 1.5M parameters (the paper's Table 1, baseline). Exact here: 1,517,595, of which 24
are the frozen mean-shift convolutions.
"""

import torch
import torch.nn.functional as F
from torch import nn

PUBLISHED_PARAMS = 1_517_595
SUBMISSION_YAML = "data_range: 255\ndescription: EDSR-baseline x4\n"
RGB_RANGE = 255


class MeanShift(nn.Conv2d):
    def __init__(self, sign: int) -> None:
        super().__init__(3, 3, 1)
        self.weight.data = torch.eye(3).view(3, 3, 1, 1)
        self.bias.data = sign * RGB_RANGE * torch.tensor((0.4488, 0.4371, 0.4040))
        for p in self.parameters():
            p.requires_grad = False


class ResBlock(nn.Module):
    def __init__(self, nf: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(nf, nf, 3, padding=1), nn.ReLU(True), nn.Conv2d(nf, nf, 3, padding=1))

    def forward(self, x):
        return self.body(x) + x


class EDSR(nn.Module):
    def __init__(self, nf: int = 64, blocks: int = 16) -> None:
        super().__init__()
        self.sub_mean, self.add_mean = MeanShift(-1), MeanShift(+1)
        self.head = nn.Conv2d(3, nf, 3, padding=1)
        self.body = nn.Sequential(*(ResBlock(nf) for _ in range(blocks)), nn.Conv2d(nf, nf, 3, padding=1))
        self.tail = nn.Sequential(nn.Conv2d(nf, 4 * nf, 3, padding=1), nn.PixelShuffle(2),
                                  nn.Conv2d(nf, 4 * nf, 3, padding=1), nn.PixelShuffle(2),
                                  nn.Conv2d(nf, 3, 3, padding=1))

    def forward(self, x):
        x = self.head(self.sub_mean(x))
        return self.add_mean(self.tail(self.body(x) + x))


def build_model():
    return EDSR()
