"""The ATen operators a program may call: pure tensor computation, nothing else.

A positive list, because the measuring stage runs a graph written by the team's process: an
operator that is not named here is refused before anything runs, with its name in the reason.
Left out on purpose: sparse, quantized and nested tensors (``_sparse_coo_tensor_unsafe`` plus
``to_dense`` wrote past a buffer), files and printing (``save``, ``from_file``, ``_print``),
host/device moves and pinning (``_to_cpu``, ``pin_memory``), random-generator state
(``manual_seed``), storage tricks (``set_``, ``resize_``, ``as_strided``), uninitialized memory
(``empty``), ops whose output shape depends on values (``nonzero``, ``masked_select``,
``unique``) and ``out=`` overloads. ``program.py`` refuses more: ``view.dtype`` (a tensor's bytes read
as another type, to pack weights) and, per call, arguments that would send a kernel out of bounds. Collected from what real SR networks export to under
torch.export (MSRResNet, IMDN, RFDN, RLFN, PAN, CARN-M, EDSR, SwinIR-light): see
tests/worker/test_program_ops.py. Names are operator packets (``aten::conv2d``), every overload
but ``out`` ones (``ALLOWED_OVERLOAD``).
"""

import re

_GROUPS = {
    "convolution and products": """
        conv1d conv2d conv3d convolution _convolution conv_transpose1d conv_transpose2d conv_transpose3d
        linear matmul mm bmm addmm baddbmm addmv mv einsum outer dot scaled_dot_product_attention
        im2col col2im unfold""",
    "activations": """
        relu relu_ relu6 hardtanh hardtanh_ leaky_relu leaky_relu_ prelu _prelu_kernel rrelu
        gelu gelu_ silu silu_ mish mish_ sigmoid sigmoid_ tanh tanh_ hardsigmoid hardsigmoid_
        hardswish hardswish_ elu elu_ selu selu_ celu celu_ softplus softshrink hardshrink glu
        threshold threshold_ log_sigmoid softmax _softmax log_softmax _log_softmax""",
    "upsampling and resampling": """
        pixel_shuffle pixel_unshuffle channel_shuffle native_channel_shuffle
        upsample_nearest1d upsample_nearest2d upsample_nearest3d _upsample_nearest_exact1d
        _upsample_nearest_exact2d upsample_linear1d upsample_bilinear2d upsample_bicubic2d
        upsample_trilinear3d _upsample_bilinear2d_aa _upsample_bicubic2d_aa
        grid_sampler grid_sampler_2d affine_grid_generator""",
    "normalization and pooling": """
        layer_norm native_layer_norm batch_norm native_batch_norm _native_batch_norm_legit_no_training
        group_norm native_group_norm instance_norm rms_norm norm linalg_vector_norm
        avg_pool1d avg_pool2d avg_pool3d max_pool1d max_pool2d max_pool3d max_pool2d_with_indices
        adaptive_avg_pool1d adaptive_avg_pool2d _adaptive_avg_pool2d adaptive_max_pool2d""",
    "reductions": """
        sum mean var std var_mean std_mean prod amax amin max min argmax argmin logsumexp cumsum
        any all""",
    "arithmetic and comparisons": """
        add add_ sub sub_ rsub mul mul_ div div_ neg neg_ abs abs_ pow pow_ sqrt sqrt_ rsqrt rsqrt_
        square exp exp_ exp2 expm1 log log_ log2 log10 log1p sin cos tan asin acos atan atan2 sinh
        cosh asinh acosh atanh reciprocal reciprocal_ sign sgn floor ceil round trunc frac
        remainder fmod floor_divide maximum minimum clamp clamp_ clamp_min clamp_min_ clamp_max
        clamp_max_ clip clip_ lerp addcmul addcdiv erf erfc nan_to_num
        eq ne lt le gt ge logical_and logical_or logical_not logical_xor bitwise_and bitwise_or
        bitwise_not where masked_fill masked_fill_""",
    "shapes, copies and indexing": """
        view view_as reshape reshape_as _unsafe_view permute transpose t contiguous clone flatten
        unflatten squeeze unsqueeze expand expand_as repeat tile movedim swapaxes slice select
        narrow index_select index gather split split_with_sizes tensor_split chunk unbind cat
        concat concatenate stack pad constant_pad_nd reflection_pad1d reflection_pad2d
        reflection_pad3d replication_pad1d replication_pad2d replication_pad3d _pad_circular roll
        flip alias detach lift_fresh_copy _to_copy to type_as copy_ fill fill_ zero_ index_put
        index_put_ slice_scatter select_scatter diagonal tril triu embedding meshgrid""",
    "new tensors (sizes checked before they are made)": """
        zeros ones full zeros_like ones_like full_like new_zeros new_ones new_full arange
        linspace eye scalar_tensor""",
    "dropout (a no-op in eval mode, as exported)": "dropout feature_dropout alpha_dropout native_dropout",
    "shape bookkeeping from torch.export": """
        sym_size sym_numel sym_stride _assert_scalar _assert_tensor_metadata
        sym_constrain_range_for_size""",
}
ALLOWED_OPS = frozenset(f"aten::{name}" for names in _GROUPS.values() for name in names.split())
ALLOWED_OVERLOAD = re.compile(r"^(?!out$)(?!.*_out$)[A-Za-z][A-Za-z0-9_]*$")
"""Every overload of an allowed operator except the ``out=`` ones, which write into a given tensor."""
