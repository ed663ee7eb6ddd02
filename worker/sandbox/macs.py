"""MACs as efficient-SR tables count them, for every allowed operator that multiplies and accumulates.

A MAC is one multiplication whose product is summed into an output element: an output element
that sums K products counts K. Counted: convolutions of every kind (``conv*``, ``convolution``,
``_convolution``, transposed and grouped: output elements × input channels per group × kernel
size, padded positions included, bias not), matrix products (``mm``, ``addmm``, ``bmm``,
``baddbmm``, ``mv``, ``addmv``, ``dot``, and ``matmul``, ``linear`` and ``einsum`` through the
products they run), scaled-dot-product attention (QKᵀ and the product with V) and
``affine_grid_generator`` (a batched product of the base grid with θ). torch's
``FlopCounterMode`` does the counting, at 2 per MAC (what ``code_eval`` halves); formulas are
added here for the products it leaves at 0 (``mv``, ``addmv``, ``dot``, ``affine_grid_generator``:
im2col followed by ``mv`` used to count nothing).

Not MACs, as the tables count them, but products of tensors all the same: elementwise products of
two tensors (``mul``, ``div``, ``addcmul``, ``addcdiv``, ``lerp``, an ``outer`` or an ``einsum``
that does not sum), per-channel scales (``prelu``, normalizations), sums of squares (norms,
variance), ``prod``, ``square``/``pow`` and interpolation with data-dependent weights
(``grid_sampler``). They are counted apart and named on the submission (``products``: operator →
products), so a convolution rewritten as an elementwise product and a sum shows where its work
went. Products by numbers written into the graph (``x * 0.5``) and fixed interpolation weights
(``upsample_*``) are not counted.
"""

from math import prod

import torch
from torch.utils.flop_counter import FlopCounterMode

aten = torch.ops.aten


def _mv_flop(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    return 2 * a_shape[0] * a_shape[1]


def _addmv_flop(self_shape, a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    return _mv_flop(a_shape, b_shape)


def _dot_flop(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    return 2 * a_shape[0]


def _affine_grid_flop(theta_shape, size, align_corners, *args, out_shape=None, **kwargs) -> int:
    return 2 * prod(out_shape) * theta_shape[-1]  # each output coordinate: a row of θ times (x, y[, z], 1)


MAC_FORMULAS = {aten.mv: _mv_flop, aten.addmv: _addmv_flop, aten.dot: _dot_flop,
                aten.affine_grid_generator: _affine_grid_flop}
"""Added to torch's registry (mm, addmm, bmm, baddbmm, convolution, _convolution, attention kernels)."""


def _is_tensor(shape) -> bool:
    return isinstance(shape, torch.Size) and prod(shape) > 1  # a one-element factor is a scale, like a literal


def _of_two(a, b, *args, out_shape=None, **kwargs) -> int:
    return prod(out_shape) if _is_tensor(a) and _is_tensor(b) else 0


def _of_last_two(a, b, c, *args, out_shape=None, **kwargs) -> int:
    return prod(out_shape) if _is_tensor(b) and _is_tensor(c) else 0


def _lerp(start, end, weight, *args, out_shape=None, **kwargs) -> int:
    return prod(out_shape) if _is_tensor(weight) else 0


def _per_output(*args, out_shape=None, **kwargs) -> int:
    return prod(out_shape if isinstance(out_shape, torch.Size) else out_shape[0])  # native norms: (out, mean, rstd)


def _per_input(x, *args, out_shape=None, **kwargs) -> int:
    return prod(x)


def _grid_sampler(x, grid, interpolation_mode, *args, out_shape=None, **kwargs) -> int:
    corners = {0: 2, 1: 1, 2: 4}[interpolation_mode] ** (len(out_shape) - 2)  # bilinear, nearest, bicubic
    return prod(out_shape) * corners


PRODUCT_FORMULAS = {
    aten.mul: _of_two, aten.div: _of_two, aten.addcmul: _of_last_two, aten.addcdiv: _of_last_two,
    aten.lerp: _lerp, aten.prod: _per_input, aten.square: _per_output, aten.pow: _per_output,
    aten._prelu_kernel: _per_output, aten.native_batch_norm: _per_output,
    aten._native_batch_norm_legit_no_training: _per_output, aten.native_layer_norm: _per_output,
    aten.native_group_norm: _per_output, aten.linalg_vector_norm: _per_input, aten.norm: _per_input,
    aten.var: _per_input, aten.std: _per_input, aten.var_mean: _per_input, aten.std_mean: _per_input,
    aten.grid_sampler_2d: _grid_sampler, aten.grid_sampler_3d: _grid_sampler,
}
"""Products that are not MACs, one per output element (``prod`` and sums of squares: per input
element; ``grid_sampler``: per output element and corner)."""


_INTERPOLATIONS = (aten.upsample_linear1d, aten.upsample_bilinear2d, aten.upsample_bicubic2d,
                   aten.upsample_trilinear3d, aten._upsample_bilinear2d_aa, aten._upsample_bicubic2d_aa)
NOT_COUNTED = {getattr(packet, name): (lambda *args, out_shape=None, **kwargs: 0)
               for packet in _INTERPOLATIONS for name in packet.overloads()}
"""Interpolation by fixed weights runs whole: torch's counter decomposes an operator whose overload
is not in its registry (keyed by packet, so never), and would name the decomposition's ``mul`` as
products of tensors. Counted by overload, these contribute nothing."""


class MacCounter:
    """``with MacCounter() as counter: meta_program.peak_bytes(...)``, then ``counter.macs`` and
    ``counter.products`` for what ran inside."""

    def __enter__(self) -> "MacCounter":
        self._mode = FlopCounterMode(display=False, custom_mapping={**MAC_FORMULAS, **PRODUCT_FORMULAS,
                                                                          **NOT_COUNTED})
        self._mode.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._mode.__exit__(*exc)

    def _counts(self) -> dict:
        return self._mode.get_flop_counts().get("Global", {})

    @property
    def macs(self) -> int:
        return sum(n for op, n in self._counts().items() if op not in PRODUCT_FORMULAS) // 2  # NOT_COUNTED: 0

    @property
    def products(self) -> dict[str, int]:
        """Operator (``aten::mul``) → products outside the MACs, for the operators that made any."""
        return {f"aten::{op.__name__}": n for op, n in sorted(self._counts().items(), key=lambda kv: str(kv[0]))
                if op in PRODUCT_FORMULAS and n}
