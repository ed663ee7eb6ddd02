"""SwinIR, lightweight ×4 setting (Liang et al., "SwinIR: Image Restoration Using Swin
Transformer", ICCVW 2021, §3 and §4.1): a 3×3 convolution to 60 channels; 4 residual Swin
Transformer blocks, each 6 Swin layers (window 8, 6 heads, MLP ratio 2, every second layer's
windows shifted by 4) and a 3×3 convolution with a skip; layer norm; a 3×3 convolution with a long
skip; a 3×3 to 48 channels and pixel shuffle ×4 ("pixelshuffledirect"). Inputs are mean-shifted
by a constant tensor.

Written as KAIR's standard lightweight ×4 configuration (window 8, embedding 60, depths and heads
[6, 6, 6, 6], MLP ratio 2, ``pixelshuffledirect``, ``img_size=64``), with the quirks of the
authors' code, which teams submit as is: the attention masks of the shifted layers are buffers
made for 64×64, and at any other size every layer recomputes a mask in the graph (the unshifted
ones too, all zeros); inputs padded (reflect) to a multiple of the window and the output cropped
(KAIR crops outside the network); each attention keeps a ``relative_position_index`` buffer and a
learnt relative-position bias table; dropouts of probability 0 and an ``img_range`` of 1 stay in
the graph. Exported at a size other than 64×64 the graph has 279 literals used as values (97
dropout probabilities, 50 layer-norm epsilons, 24 attention scales, 96 in the 24 masks, the
``img_range`` twice, 10 in shape arithmetic): they repeat layer by layer, 20 float32 numbers' worth.

Published: 897K parameters (the paper's Table 3, lightweight ×4). That figure leaves out the 24
relative-position bias tables (24 × 225 × 6 = 32,400 numbers, parameters all the same):
``sum(p.numel())`` is 929,628, as later efficient-SR tables list it ("930K").
"""

import torch
import torch.nn.functional as F
from torch import nn

PUBLISHED_PARAMS = 929_628
PUBLISHED_WITHOUT_BIAS_TABLES = 897_228


def window_partition(x, window: int):
    """(B, H, W, C) → (B·windows, window, window, C)."""
    b, h, w, c = x.shape
    x = x.view(b, h // window, window, w // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window, window, c)


def window_reverse(windows, window: int, h: int, w: int):
    b = int(windows.shape[0] / (h * w / window / window))
    x = windows.view(b, h // window, w // window, window, window, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(b, h, w, -1)


class WindowAttention(nn.Module):
    def __init__(self, dim: int, window: int, heads: int) -> None:
        super().__init__()
        self.window, self.heads = window, heads
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("relative_position_index", relative[..., 0] * (2 * window - 1) + relative[..., 1])
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.attn_drop, self.proj_drop = nn.Dropout(0.0), nn.Dropout(0.0)

    def forward(self, x, mask=None):
        b_, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b_, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        if mask is not None:
            windows = mask.shape[0]
            attn = attn.view(b_ // windows, windows, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, n, n)
        attn = self.attn_drop(attn.softmax(dim=-1))
        return self.proj_drop(self.proj((attn @ v).transpose(1, 2).reshape(b_, n, c)))


class SwinLayer(nn.Module):
    def __init__(self, dim: int, resolution: tuple[int, int], heads: int, window: int, shift: int,
                 mlp_ratio: float) -> None:
        super().__init__()
        self.resolution, self.window, self.shift = resolution, window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window, heads)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(0.0), nn.Linear(hidden, dim),
                                 nn.Dropout(0.0))
        self.register_buffer("attn_mask", self.calculate_mask(resolution) if shift else None)

    def calculate_mask(self, size):
        h, w = size
        img_mask = torch.zeros((1, h, w, 1))
        cuts = (slice(0, -self.window), slice(-self.window, -self.shift), slice(-self.shift, None))
        region = 0
        for hs in cuts:
            for ws in cuts:
                img_mask[:, hs, ws, :] = region
                region += 1
        windows = window_partition(img_mask, self.window).view(-1, self.window * self.window)
        mask = windows.unsqueeze(1) - windows.unsqueeze(2)
        return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)

    def forward(self, x, size):
        h, w = size
        b, _, c = x.shape
        shortcut = x
        x = self.norm1(x).view(b, h, w, c)
        if self.shift:
            x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        windows = window_partition(x, self.window).view(-1, self.window * self.window, c)
        if self.resolution == size:
            mask = self.attn_mask
        else:  # as the authors' code: for the unshifted layers too (a mask of zeros)
            mask = self.calculate_mask(size).to(x.device)
        windows = self.attn(windows, mask=mask).view(-1, self.window, self.window, c)
        x = window_reverse(windows, self.window, h, w)
        if self.shift:
            x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2))
        x = shortcut + x.view(b, h * w, c)
        return x + self.mlp(self.norm2(x))


class RSTB(nn.Module):
    def __init__(self, dim: int, resolution, depth: int, heads: int, window: int, mlp_ratio: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(SwinLayer(dim, resolution, heads, window, 0 if i % 2 == 0 else window // 2,
                                              mlp_ratio) for i in range(depth))
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)

    def forward(self, x, size):
        out = x
        for layer in self.layers:
            out = layer(out, size)
        b, n, c = out.shape
        image = out.transpose(1, 2).view(b, c, *size)
        return self.conv(image).flatten(2).transpose(1, 2) + x


class SwinIRLight(nn.Module):
    def __init__(self, img_size: int = 64, window: int = 8, dim: int = 60, depths=(6, 6, 6, 6),
                 heads=(6, 6, 6, 6), mlp_ratio: float = 2.0, scale: int = 4) -> None:
        super().__init__()
        self.window, self.scale = window, scale
        self.mean = torch.tensor((0.4488, 0.4371, 0.4040)).view(1, 3, 1, 1)
        self.conv_first = nn.Conv2d(3, dim, 3, padding=1)
        self.patch_norm = nn.LayerNorm(dim)
        self.layers = nn.ModuleList(RSTB(dim, (img_size, img_size), d, h, window, mlp_ratio)
                                    for d, h in zip(depths, heads))
        self.pos_drop = nn.Dropout(0.0)
        self.norm = nn.LayerNorm(dim)
        self.img_range = 1.0
        self.conv_after_body = nn.Conv2d(dim, dim, 3, padding=1)
        self.upsample = nn.Sequential(nn.Conv2d(dim, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def check_image_size(self, x):
        _, _, h, w = x.size()
        pad_h = (self.window - h % self.window) % self.window
        pad_w = (self.window - w % self.window) % self.window
        return F.pad(x, (0, pad_w, 0, pad_h), "reflect")

    def forward_features(self, x):
        size = (x.shape[2], x.shape[3])
        tokens = self.pos_drop(self.patch_norm(x.flatten(2).transpose(1, 2)))
        for layer in self.layers:
            tokens = layer(tokens, size)
        tokens = self.norm(tokens)
        return tokens.transpose(1, 2).view(x.shape[0], -1, *size)

    def forward(self, x):
        h, w = x.shape[2:]
        x = self.check_image_size(x)
        self.mean = self.mean.type_as(x)
        x = (x - self.mean) * self.img_range
        x = self.conv_first(x)
        x = self.conv_after_body(self.forward_features(x)) + x
        x = self.upsample(x) / self.img_range + self.mean
        return x[:, :, :h * self.scale, :w * self.scale]


def build_model():
    return SwinIRLight()
