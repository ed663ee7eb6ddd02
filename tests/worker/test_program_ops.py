"""The measuring stage runs only pure tensor operators, with sizes checked before anything is made.

In-process and fast: the program format is checked the way stage 2 checks it (issue 12.2). The
whole-submission version (a stage-1 hook rewriting its own program) is in test_code_eval.py.
"""

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from worker.sandbox.allowed_ops import ALLOWED_OPS
from worker.sandbox.program import Program, ProgramError, to_program

CPU, META = torch.device("cpu"), torch.device("meta")
AUTO = torch.export.Dim.AUTO


class EfficientSROps(nn.Module):
    """One small network using what published efficient-SR models export to: IMDN's contrast-aware
    attention (mean, variance), RFDN/RLFN's ESA (strided conv, max pool, bilinear resize, sigmoid),
    PAN's pixel attention and nearest upsampling, CARN-M's group convolutions, SwinIR-light's
    reflect padding to a window multiple, layer norm, shifted-window attention (roll, softmax,
    relative-position bias gathered from a buffer, masks), GELU, and a pixel-shuffle tail."""

    def __init__(self, c: int = 8, window: int = 4) -> None:
        super().__init__()
        self.window = window
        self.head = nn.Conv2d(3, c, 3, padding=1)
        self.group = nn.Conv2d(c, c, 3, padding=1, groups=2)
        self.down = nn.Conv2d(c, c, 3, stride=2)
        self.attn_conv = nn.Conv2d(c, c, 1)
        self.norm = nn.LayerNorm(c)
        self.qkv = nn.Linear(c, 3 * c)
        self.mlp = nn.Sequential(nn.Linear(c, 2 * c), nn.GELU(), nn.Linear(2 * c, c))
        self.bias_table = nn.Parameter(torch.randn((2 * window - 1) ** 2, 2))
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("bias_index", rel[..., 0] * (2 * window - 1) + rel[..., 1])
        self.tail = nn.Sequential(nn.Conv2d(c, 48, 3, padding=1), nn.PixelShuffle(4))

    def window_attention(self, t: torch.Tensor) -> torch.Tensor:
        b, h, w, c = t.shape
        ws = self.window
        t = torch.roll(t, shifts=(-ws // 2, -ws // 2), dims=(1, 2))
        windows = t.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)
        q, k, v = self.qkv(windows).reshape(windows.shape[0], ws * ws, 3, 2, c // 2).permute(2, 0, 3, 1, 4)
        scores = (q * (c // 2) ** -0.5) @ k.transpose(-2, -1)
        scores = scores + self.bias_table[self.bias_index.view(-1)].view(ws * ws, ws * ws, 2).permute(2, 0, 1)
        mask = torch.zeros(ws * ws, ws * ws, device=t.device)
        scores = scores.masked_fill(mask != 0, -100.0)
        out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(-1, ws, ws, c)
        out = out.view(b, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)
        return torch.roll(out, shifts=(ws // 2, ws // 2), dims=(1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        pad_h, pad_w = (self.window - h % self.window) % self.window, (self.window - w % self.window) % self.window
        f = self.head(F.pad(x, (0, pad_w, 0, pad_h), mode="reflect"))
        mean = f.mean(dim=(2, 3), keepdim=True)
        contrast = (f - mean).pow(2).mean(dim=(2, 3), keepdim=True).sqrt()
        f = f * torch.sigmoid(contrast + F.adaptive_avg_pool2d(f, 1))
        esa = F.max_pool2d(self.down(f), 3, 2)
        f = f * torch.sigmoid(F.interpolate(esa, size=f.shape[2:], mode="bilinear", align_corners=False))
        f = F.leaky_relu(self.group(f), 0.05) * torch.sigmoid(self.attn_conv(f))
        t = f.permute(0, 2, 3, 1)
        t = t + self.window_attention(self.norm(t))
        t = t + self.mlp(self.norm(t))
        f = F.interpolate(t.permute(0, 3, 1, 2), scale_factor=0.5, mode="nearest")
        f = F.interpolate(f, size=(h + pad_h, w + pad_w), mode="nearest") + t.permute(0, 3, 1, 2)
        return self.tail(f)[:, :, :4 * h, :4 * w]


def exported(model: nn.Module, size=(17, 13)) -> tuple[dict, dict]:
    with torch.no_grad():
        ep = torch.export.export(model.eval(), (torch.rand(1, 3, *size),), dynamic_shapes=({2: AUTO, 3: AUTO},))
    graph, tensors = to_program(ep, {})
    return json.loads(json.dumps(graph)), tensors


@pytest.fixture(scope="module")
def sr_program() -> tuple[nn.Module, dict, dict]:
    torch.manual_seed(0)
    model = EfficientSROps()
    return (model, *exported(model))


def test_every_allowed_operator_exists_in_this_pytorch():
    missing = [name for name in ALLOWED_OPS if not hasattr(torch.ops.aten, name.removeprefix("aten::"))]
    assert missing == []


def test_what_efficient_sr_networks_export_to_is_allowed_and_runs_like_eager(sr_program):
    model, graph, tensors = sr_program
    program = Program(graph, tensors, CPU)
    ops = {node["op"].rpartition(".")[0] for node in graph["nodes"]}
    assert {"aten::softmax", "aten::layer_norm", "aten::roll", "aten::gelu", "aten::pad", "aten::max_pool2d",
            "aten::upsample_bilinear2d", "aten::index", "aten::masked_fill", "aten::pixel_shuffle"} <= ops
    for size in [(17, 13), (20, 9)]:
        x = torch.rand(1, 3, *size)
        with torch.inference_mode():
            assert torch.equal(program(x), model(x))


def crafted(graph: dict, *nodes: dict) -> dict:
    """``graph`` with ``nodes`` appended, the last one made the output; refs count from the input."""
    graph = json.loads(json.dumps(graph))
    graph["nodes"] += nodes
    graph["output"] = len(graph["inputs"]) + len(graph["nodes"]) - 1
    return graph


def node(op: str, *args, **kwargs) -> dict:
    return {"op": op, "args": {"list": list(args)}, "kwargs": kwargs}


def ref(index: int) -> dict:
    return {"ref": index}


def size_list(*sizes: int) -> dict:
    return {"list": list(sizes)}


REFUSED = {  # class of what a program must not do: (node, the name the reason must give)
    "sparse tensors (wrote past a buffer)": (node("aten::_sparse_coo_tensor_unsafe.default", ref(0), ref(0),
                                                  size_list(1 << 20)), "_sparse_coo_tensor_unsafe"),
    "sparse to dense": (node("aten::to_dense.default", ref(0)), "to_dense"),
    "files": (node("aten::save.default", ref(0), "/sandbox/out/x"), "aten::save"),
    "files, read": (node("aten::from_file.default", "/etc/passwd"), "from_file"),
    "printing": (node("aten::_print.default", "hello"), "_print"),
    "moves to host memory": (node("aten::_to_cpu.default", {"list": [ref(0)]}), "_to_cpu"),
    "pinned memory": (node("aten::pin_memory.default", ref(0)), "pin_memory"),
    "random-generator state": (node("aten::manual_seed.default", 0), "manual_seed"),
    "storage tricks": (node("aten::as_strided.default", ref(0), size_list(1 << 30), size_list(1)), "as_strided"),
    "uninitialized memory": (node("aten::empty.memory_format", size_list(8)), "aten::empty"),
    "value-dependent shapes": (node("aten::nonzero.default", ref(0)), "nonzero"),
    "out= overloads": (node("aten::add.out", ref(0), ref(0), out=ref(0)), "aten::add.out"),
    "other namespaces": (node("prims::add.default", ref(0), ref(0)), "prims::add"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_operators_outside_the_allowlist_are_refused_by_name(case, sr_program):
    _, graph, tensors = sr_program
    bad, name = REFUSED[case]
    first_input = next(i for i, spec in enumerate(graph["inputs"]) if spec["kind"] == "input")
    bad = json.loads(json.dumps(bad).replace('{"ref": 0}', json.dumps(ref(first_input))))
    with pytest.raises(ProgramError, match="not an allowed operator") as info:
        Program(crafted(graph, bad), tensors, CPU)
    assert name in str(info.value)


@pytest.mark.parametrize("kwargs, reason", [
    ({"layout": {"layout": "sparse_coo"}}, "unknown layout 'sparse_coo'"),
    ({"dtype": {"dtype": "complex64"}}, "unknown dtype 'complex64'"),
    ({"dtype": {"dtype": "qint8"}}, "unknown dtype 'qint8'"),
    ({"pin_memory": True}, "pinned memory"),
])
def test_allowed_factories_cannot_make_sparse_quantized_or_pinned_tensors(kwargs, reason, sr_program):
    _, graph, tensors = sr_program
    with pytest.raises(ProgramError, match=reason):
        Program(crafted(graph, node("aten::zeros.default", size_list(4), **kwargs)), tensors, CPU)


def test_shape_arithmetic_takes_numbers_only(sr_program):
    _, graph, tensors = sr_program
    with pytest.raises(ProgramError, match="other than numbers"):
        Program(crafted(graph, node("operator.mul", size_list(1, 2), 1 << 40)), tensors, CPU)
    with pytest.raises(ProgramError, match="not an allowed operator"):
        Program(crafted(graph, node("operator.pow", 10, 1 << 40)), tensors, CPU)


@pytest.mark.parametrize("make_huge", [
    lambda x: node("aten::zeros.default", size_list(1 << 20, 1 << 20)),
    lambda x: node("aten::upsample_nearest2d.vec", ref(x), size_list(1 << 16, 1 << 16), None),
    lambda x: node("aten::repeat.default", ref(x), size_list(1, 1, 1 << 12, 1 << 12)),
])
def test_sizes_are_checked_on_the_meta_device_before_anything_is_allocated(make_huge, sr_program):
    _, graph, tensors = sr_program
    first_input = next(i for i, spec in enumerate(graph["inputs"]) if spec["kind"] == "input")
    meta = Program(crafted(graph, make_huge(first_input)), tensors, META)
    with pytest.raises(ProgramError, match=r"would hold \d+\.\d GiB at step \d+ .* the limit is 4 GiB"):
        meta.peak_bytes((1, 3, 17, 13), 4 << 30)


def test_peak_bytes_counts_what_the_interpreter_holds(sr_program):
    _, graph, tensors = sr_program
    meta = Program(graph, tensors, META)
    small, large = meta.peak_bytes((1, 3, 16, 16), 1 << 40), meta.peak_bytes((1, 3, 64, 64), 1 << 40)
    weights = sum(t.numel() * t.element_size() for t in tensors.values())
    assert 8 < (large - weights) / (small - weights) < 24  # 16 times the pixels; views count once
    with pytest.raises(ProgramError, match="fails on a 1×3×2×2 input"):
        meta.peak_bytes((1, 3, 2, 2), 1 << 40)
