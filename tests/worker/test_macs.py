"""MACs are counted for every allowed operator that multiplies and accumulates (issue 19.4).

Each count is checked against its hand formula (output elements × products summed into each),
on the meta device, the way the measuring stage counts a program. A convolution written as
im2col and ``mv`` used to count 0 MACs; elementwise products (a convolution as ``mul`` and
``sum``) are named apart, by operator.
"""

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.worker.conftest import KEYS, evaluate
from worker.sandbox.macs import MacCounter
from worker.sandbox.program import Program, to_program

aten = torch.ops.aten
META = torch.device("meta")


def t(*shape: int) -> torch.Tensor:
    return torch.empty(*shape, device=META)


def counted(call) -> MacCounter:
    with torch.inference_mode(), MacCounter() as counter:
        call()
    return counter


N, C, H, W, O, K = 2, 6, 9, 7, 4, 3  # batch, channels in, height, width, channels out, kernel

MAC_CASES = {  # operator call → its MACs by hand
    "conv1d": (lambda: aten.conv1d.default(t(N, C, W), t(O, C, K)), N * O * (W - K + 1) * C * K),
    "conv2d, padded, biased": (lambda: aten.conv2d.default(t(N, C, H, W), t(O, C, K, K), t(O), [1, 1], [1, 1]),
                               N * O * H * W * C * K * K),
    "conv2d, grouped, strided, dilated": (
        lambda: aten.conv2d.default(t(N, C, H, W), t(O, C // 2, K, K), None, [2, 2], [0, 0], [2, 2], 2),
        N * O * ((H - 5) // 2 + 1) * ((W - 5) // 2 + 1) * (C // 2) * K * K),
    "conv3d": (lambda: aten.conv3d.default(t(1, C, 4, H, W), t(O, C, 2, K, K)), O * 3 * (H - 2) * (W - 2) * C * 2 * K * K),
    "convolution": (lambda: aten.convolution.default(t(N, C, H, W), t(O, C, 1, 1), None, [1, 1], [0, 0], [1, 1],
                                                     False, [0, 0], 1), N * O * H * W * C),
    "_convolution": (lambda: aten._convolution.default(t(N, C, H, W), t(O, C, 1, 1), None, [1, 1], [0, 0], [1, 1],
                                                       False, [0, 0], 1, False, False, True, False), N * O * H * W * C),
    "conv_transpose1d": (lambda: aten.conv_transpose1d.default(t(N, C, W), t(C, O, K), None, [2]), N * C * W * O * K),
    "conv_transpose2d, grouped, output padding": (
        lambda: aten.conv_transpose2d.input(t(N, C, H, W), t(C, O // 2, K, K), None, [2, 2], [1, 1], [1, 1], 2),
        N * C * H * W * (O // 2) * K * K),
    "conv_transpose3d": (lambda: aten.conv_transpose3d.input(t(1, C, 2, H, W), t(C, O, 1, K, K)),
                         C * 2 * H * W * O * K * K),
    "linear, 3-D input": (lambda: aten.linear.default(t(N, H, C), t(O, C), t(O)), N * H * C * O),
    "linear, 1-D input": (lambda: aten.linear.default(t(C), t(O, C)), C * O),
    "mm": (lambda: aten.mm.default(t(H, C), t(C, W)), H * C * W),
    "addmm": (lambda: aten.addmm.default(t(W), t(H, C), t(C, W)), H * C * W),
    "bmm": (lambda: aten.bmm.default(t(N, H, C), t(N, C, W)), N * H * C * W),
    "baddbmm": (lambda: aten.baddbmm.default(t(N, H, W), t(N, H, C), t(N, C, W)), N * H * C * W),
    "mv": (lambda: aten.mv.default(t(H, C), t(C)), H * C),
    "addmv": (lambda: aten.addmv.default(t(H), t(H, C), t(C)), H * C),
    "dot": (lambda: aten.dot.default(t(C), t(C)), C),
    "matmul, vector by vector": (lambda: aten.matmul.default(t(C), t(C)), C),
    "matmul, matrix by vector": (lambda: aten.matmul.default(t(H, C), t(C)), H * C),
    "matmul, vector by matrix": (lambda: aten.matmul.default(t(C), t(C, W)), C * W),
    "matmul, broadcast batches": (lambda: aten.matmul.default(t(N, 1, H, C), t(1, O, C, W)), N * O * H * C * W),
    "einsum, batched product": (lambda: aten.einsum.default("bij,bjk->bik", [t(N, H, C), t(N, C, W)]), N * H * C * W),
    "einsum, attention scores": (lambda: aten.einsum.default("bhqd,bhkd->bhqk", [t(N, O, H, C), t(N, O, W, C)]),
                                 N * O * H * W * C),
    "einsum, dot": (lambda: aten.einsum.default("i,i->", [t(C), t(C)]), C),
    "scaled_dot_product_attention": (
        lambda: aten.scaled_dot_product_attention.default(t(N, O, H, C), t(N, O, W, C), t(N, O, W, K)),
        N * O * H * W * (C + K)),
    "scaled_dot_product_attention, mask and grouped heads": (
        lambda: aten.scaled_dot_product_attention.default(t(N, 4, H, C), t(N, 2, W, C), t(N, 2, W, K), t(H, W),
                                                          enable_gqa=True),
        N * 4 * H * W * (C + K)),
    "affine_grid_generator": (lambda: aten.affine_grid_generator.default(t(N, 2, 3), [N, C, H, W], False),
                              N * H * W * 2 * 3),
}


@pytest.mark.parametrize("case", list(MAC_CASES))
def test_every_multiply_accumulate_operator_counts_its_hand_formula(case):
    call, macs = MAC_CASES[case]
    counter = counted(call)
    assert (counter.macs, counter.products) == (macs, {})


PRODUCT_CASES = {  # operator call → (the operator named, its products by hand)
    "elementwise product of two tensors": (lambda: aten.mul.Tensor(t(N, C, H, W), t(1, C, 1, 1)),
                                           "aten::mul", N * C * H * W),
    "outer": (lambda: aten.outer.default(t(H), t(W)), "aten::mul", H * W),
    "einsum without a sum": (lambda: aten.einsum.default("ij,ij->ij", [t(H, W), t(H, W)]), "aten::mul", H * W),
    "division by a tensor": (lambda: aten.div.Tensor(t(N, C), t(N, C)), "aten::div", N * C),
    "addcmul": (lambda: aten.addcmul.default(t(N, C), t(N, C), t(N, C)), "aten::addcmul", N * C),
    "prod": (lambda: aten.prod.dim_int(t(N, C, K), 2), "aten::prod", N * C * K),
    "prelu": (lambda: aten.prelu.default(t(N, C, H), t(C)), "aten::_prelu_kernel", N * C * H),
    "layer norm": (lambda: aten.layer_norm.default(t(N, H, C), [C], t(C), t(C)), "aten::native_layer_norm",
                   N * H * C),
    "sum of squares": (lambda: aten.linalg_vector_norm.default(t(N, C), 2, [1]), "aten::linalg_vector_norm", N * C),
    "bilinear grid sampling": (lambda: aten.grid_sampler.default(t(N, C, H, W), t(N, 5, 4, 2), 0, 0, False),
                               "aten::grid_sampler_2d", N * C * 5 * 4 * 4),
}


@pytest.mark.parametrize("case", list(PRODUCT_CASES))
def test_products_that_are_not_macs_are_named_with_their_count(case):
    call, name, products = PRODUCT_CASES[case]
    counter = counted(call)
    assert (counter.macs, counter.products) == (0, {name: products})


@pytest.mark.parametrize("call", [
    lambda: aten.mul.Tensor(t(N, C, H, W), 0.5),
    lambda: aten.upsample_bilinear2d.vec(t(N, C, H, W), None, False, [4.0, 4.0]),
    lambda: aten.upsample_bicubic2d.vec(t(N, C, H, W), None, False, [4.0, 4.0]),
    lambda: aten._upsample_bicubic2d_aa.vec(t(N, C, H, W), None, False, [0.5, 0.5]),
    lambda: aten.upsample_linear1d.vec(t(N, C, W), None, False, [2.0]),
    lambda: aten.upsample_trilinear3d.vec(t(1, C, 2, H, W), None, False, [1.0, 2.0, 2.0]),
], ids=["by a number", "bilinear", "bicubic", "antialiased", "linear", "trilinear"])
def test_products_by_numbers_and_fixed_interpolation_weights_are_not_counted(call):
    """Interpolation runs whole: torch's counter would take its decomposition's ``mul`` as products of tensors."""
    counter = counted(call)
    assert (counter.macs, counter.products) == (0, {})


class Im2colConv(nn.Module):
    """A 3×3 convolution as im2col and one ``mv`` per output channel (``unfold`` then ``weight @ patches``)."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.weight = nn.Parameter(torch.randn(8, 3 * 9))

    def forward(self, x):
        h, w = x.shape[2:]
        patches = F.unfold(x, 3, padding=1)[0]  # 27 × (h·w)
        if self.how == "mv":
            rows = [torch.mv(patches.t(), self.weight[i]) for i in range(8)]
            out = torch.stack(rows).view(1, 8, h, w)
        else:  # an elementwise product and a sum
            out = (self.weight[:, :, None] * patches[None]).sum(1).view(1, 8, h, w)
        return out


@pytest.mark.parametrize("how", ["mv", "mul"])
def test_a_convolution_written_as_im2col_is_counted_or_named(how):
    auto = torch.export.Dim.AUTO
    ep = torch.export.export(Im2colConv(how).eval(), (torch.rand(1, 3, 16, 16),), dynamic_shapes=({2: auto, 3: auto},),
                             strict=False)
    graph, tensors = to_program(ep, {})
    meta = Program(json.loads(json.dumps(graph)), {k: v.to(META) for k, v in tensors.items()}, META)
    with torch.inference_mode(), MacCounter() as counter:
        meta.peak_bytes((1, 3, 20, 24), 1 << 30)
    conv = 8 * 20 * 24 * 3 * 9
    if how == "mv":
        assert (counter.macs, counter.products) == (conv, {})
    else:
        assert (counter.macs, counter.products) == (0, {"aten::mul": conv})


IM2COL_SUBMISSION = """
import torch
import torch.nn.functional as F
from torch import nn


class Im2col(nn.Module):
    '''Two 3×3 convolutions written by hand: one as im2col and mv, one as an elementwise product and a sum.'''

    def __init__(self):
        super().__init__()
        self.first = nn.Parameter(torch.randn(8, 27) * 0.1)
        self.second = nn.Parameter(torch.randn(48, 72) * 0.1)

    def forward(self, x):
        h, w = x.shape[2:]
        patches = F.unfold(x, 3, padding=1)[0]
        f = torch.stack([torch.mv(patches.t(), self.first[i]) for i in range(8)]).view(1, 8, h, w)
        patches = F.unfold(f, 3, padding=1)[0]
        out = (self.second[:, :, None] * patches[None]).sum(1).view(1, 48, h, w)
        return F.pixel_shuffle(out, 4)


def build_model():
    return Im2col()
"""


@pytest.mark.slow
def test_a_submission_with_hand_written_convolutions_is_counted_and_named(make_submission, dataset, limits,
                                                                           tmp_path):
    evaluation = evaluate(make_submission(IM2COL_SUBMISSION), dataset, limits, tmp_path / "work", KEYS[:1])
    pixels = 256 * 256  # where MACs are counted
    assert evaluation.macs == pixels * 8 * 27
    assert evaluation.products == {"aten::mul": pixels * 48 * 72}
