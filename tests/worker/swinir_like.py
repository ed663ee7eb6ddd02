"""A SwinIR-lightweight-shaped model: shifted-window attention with the non-learned buffers real
SwinIR keeps (a relative-position index per block, int64; an attention mask per shifted block,
float, computed for ``img_size``), so that counting and holding rules can be checked against an
honest architecture. ``build_model()`` is small for sandbox tests; ``SwinIRLike(**SWINIR_LIGHT)``
has SwinIR-light's buffer shapes (60 channels, 4×6 blocks, window 8, 64×64 training patches).
"""

import torch
import torch.nn.functional as F
from torch import nn

SWINIR_LIGHT = {"dim": 60, "depths": (6, 6, 6, 6), "heads": 6, "window": 8, "img_size": 64}


def window_partition(x, window):
    b, h, w, c = x.shape
    x = x.view(b, h // window, window, w // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, c)


def window_reverse(windows, window, h, w):
    c = windows.shape[-1]
    x = windows.view(-1, h // window, w // window, window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, h, w, c)


def shifted_window_mask(h, w, window, shift):
    """The mask SwinIR registers: -100 between tokens that the cyclic shift made neighbours."""
    region = torch.zeros(1, h, w, 1)
    count = 0
    for hs in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
        for ws in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
            region[:, hs, ws, :] = count
            count += 1
    windows = window_partition(region, window).squeeze(-1)
    mask = windows.unsqueeze(1) - windows.unsqueeze(2)
    return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)


class WindowAttention(nn.Module):
    def __init__(self, dim, heads, window):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("relative_position_index", relative[..., 0] * (2 * window - 1) + relative[..., 1])
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        bias = self.bias_table[self.relative_position_index.view(-1)].view(n, n, -1).permute(2, 0, 1)
        attn = attn + bias.unsqueeze(0)
        if mask is not None:
            windows = mask.shape[0]
            attn = attn.view(b // windows, windows, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, n, n)
        return self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, dim, heads, window, shift, img_size):
        super().__init__()
        self.window, self.shift, self.img_size = window, shift, img_size
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.register_buffer("attn_mask", shifted_window_mask(img_size, img_size, window, shift) if shift else None)

    def forward(self, x, h, w):
        b, _, c = x.shape
        shortcut = x
        x = self.norm1(x).view(b, h, w, c)
        if self.shift:
            x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        mask = None
        if self.shift:
            mask = (self.attn_mask if (h, w) == (self.img_size, self.img_size)
                    else shifted_window_mask(h, w, self.window, self.shift).to(x.device))
        x = window_reverse(self.attn(window_partition(x, self.window), mask), self.window, h, w)
        if self.shift:
            x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2))
        x = shortcut + x.reshape(b, h * w, c)
        return x + self.mlp(self.norm2(x))


class SwinIRLike(nn.Module):
    def __init__(self, dim=16, depths=(2,), heads=2, window=8, img_size=32, scale=4):
        super().__init__()
        self.window, self.scale = window, scale
        self.conv_first = nn.Conv2d(3, dim, 3, 1, 1)
        self.groups = nn.ModuleList(
            nn.ModuleList(Block(dim, heads, window, 0 if i % 2 == 0 else window // 2, img_size) for i in range(depth))
            for depth in depths)
        self.conv_after_body = nn.Conv2d(dim, dim, 3, 1, 1)
        self.upsample = nn.Sequential(nn.Conv2d(dim, 3 * scale * scale, 3, 1, 1), nn.PixelShuffle(scale))

    def forward(self, x):
        h, w = x.shape[2:]
        x = F.pad(x, (0, (-w) % self.window, 0, (-h) % self.window), mode="reflect")
        hp, wp = x.shape[2:]
        feat = self.conv_first(x)
        tokens = feat.flatten(2).transpose(1, 2)
        for group in self.groups:
            for block in group:
                tokens = block(tokens, hp, wp)
        body = tokens.transpose(1, 2).reshape(feat.shape)
        out = self.upsample(self.conv_after_body(body) + feat)
        return out[:, :, : h * self.scale, : w * self.scale]


def build_model():
    return SwinIRLike()
