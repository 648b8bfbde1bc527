"""The 3-D convolutions and pools (terra/nn/_conv3d.py, _pool3d.py, modules/conv3d.py,
pooling3d.py) against PyTorch 1.13: outputs, indices, input/weight/bias gradients in float64 and
float32 over strides, paddings, dilations, groups, ceil_mode, unbatched inputs and bias or none;
the layers with PyTorch's weights; the torch.* spellings; and errors of the same type."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import terra
import terra.nn as nn
import terra.nn.functional as F
from nn_parity import DTYPES, assert_same_error, check_function, check_module, phases, rand


def Fl(*shape):
    return lambda rng, dt: rand(rng, *shape, dtype=dt)


def MaxIndices(shape, kernel, **kwargs):
    """The values and indices of PyTorch's max_pool3d of a random input: max_unpool3d's input."""
    def make(rng, dt):
        out, indices = TF.max_pool3d(torch.tensor(rand(rng, *shape, dtype=dt)), kernel,
                                     return_indices=True, **kwargs)
        return out.numpy(), indices.numpy()
    return make


# (id, function name, keyword arguments, input makers): inputs are passed positionally.
CASES = [
    # conv3d: input, weight[, bias]
    ("conv3d", "conv3d", {}, [Fl(2, 3, 4, 5, 6), Fl(4, 3, 2, 3, 2), Fl(4)]),
    ("conv3d_stride_pad_dilation", "conv3d",
     {"stride": (2, 1, 3), "padding": (1, 2, 0), "dilation": (2, 1, 2)},
     [Fl(2, 2, 6, 5, 7), Fl(3, 2, 2, 2, 3), Fl(3)]),
    ("conv3d_groups_nobias", "conv3d", {"groups": 3, "padding": 1, "stride": 2},
     [Fl(1, 6, 5, 4, 5), Fl(6, 2, 3, 3, 3)]),
    ("conv3d_depthwise", "conv3d", {"groups": 4}, [Fl(2, 4, 3, 4, 4), Fl(8, 1, 2, 2, 2), Fl(8)]),
    ("conv3d_unbatched", "conv3d", {"padding": (0, 1, 1)}, [Fl(3, 4, 4, 5), Fl(2, 3, 3, 2, 2), Fl(2)]),
    ("conv3d_same", "conv3d", {"padding": "same", "dilation": (1, 2, 1)},
     [Fl(2, 2, 4, 5, 4), Fl(3, 2, 2, 3, 2), Fl(3)]),
    ("conv3d_valid", "conv3d", {"padding": "valid"}, [Fl(1, 2, 3, 4, 5), Fl(2, 2, 3, 1, 2)]),
    ("conv3d_pointwise_strided", "conv3d", {"stride": 2}, [Fl(2, 3, 5, 4, 3), Fl(2, 3, 1, 1, 1)]),
    # conv_transpose3d: input, weight[, bias]
    ("conv_transpose3d", "conv_transpose3d", {"stride": 2, "padding": 1, "output_padding": 1},
     [Fl(2, 3, 3, 2, 3), Fl(3, 2, 3, 3, 2), Fl(2)]),
    ("conv_transpose3d_groups_dilation", "conv_transpose3d",
     {"groups": 2, "dilation": (2, 1, 2), "stride": (1, 2, 2), "output_padding": (1, 1, 0)},
     [Fl(1, 4, 3, 3, 2), Fl(4, 3, 2, 2, 3), Fl(6)]),
    ("conv_transpose3d_stride_gaps", "conv_transpose3d", {"stride": (3, 1, 2), "padding": (0, 1, 1)},
     [Fl(2, 2, 2, 3, 3), Fl(2, 3, 2, 3, 3)]),
    ("conv_transpose3d_unbatched", "conv_transpose3d", {"padding": (2, 0, 1)},
     [Fl(2, 4, 3, 3), Fl(2, 2, 3, 2, 3), Fl(2)]),
    # max_pool3d (return_indices compares indices too)
    ("max_pool3d", "max_pool3d", {"kernel_size": 2}, [Fl(2, 3, 4, 6, 5)]),
    ("max_pool3d_stride_pad_indices", "max_pool3d",
     {"kernel_size": 3, "stride": 2, "padding": 1, "return_indices": True}, [Fl(2, 2, 5, 6, 7)]),
    ("max_pool3d_ceil_dilation_indices", "max_pool3d",
     {"kernel_size": (2, 3, 2), "stride": (2, 1, 3), "padding": (1, 0, 1), "dilation": (2, 1, 2),
      "ceil_mode": True, "return_indices": True}, [Fl(1, 2, 7, 5, 8)]),
    ("max_pool3d_unbatched_indices", "max_pool3d",
     {"kernel_size": (1, 2, 3), "stride": 1, "return_indices": True}, [Fl(3, 3, 4, 5)]),
    ("max_pool3d_with_indices", "max_pool3d_with_indices", {"kernel_size": 2, "ceil_mode": True},
     [Fl(2, 2, 5, 3, 5)]),
    # avg_pool3d
    ("avg_pool3d", "avg_pool3d", {"kernel_size": 2}, [Fl(2, 3, 4, 6, 5)]),
    ("avg_pool3d_stride_pad", "avg_pool3d", {"kernel_size": 3, "stride": 2, "padding": 1},
     [Fl(2, 2, 5, 6, 7)]),
    ("avg_pool3d_ceil_exclude_pad", "avg_pool3d",
     {"kernel_size": (3, 2, 3), "stride": (2, 1, 2), "padding": (1, 1, 0), "ceil_mode": True,
      "count_include_pad": False}, [Fl(2, 2, 6, 5, 6)]),
    ("avg_pool3d_ceil_include_pad", "avg_pool3d",
     {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, [Fl(1, 2, 6, 5, 6)]),
    ("avg_pool3d_divisor", "avg_pool3d",
     {"kernel_size": 2, "padding": 1, "ceil_mode": True, "divisor_override": 3},
     [Fl(2, 2, 5, 4, 3)]),
    ("avg_pool3d_unbatched", "avg_pool3d", {"kernel_size": (2, 1, 3), "stride": (1, 2, 1)},
     [Fl(3, 4, 5, 6)]),
    # adaptive pools
    ("adaptive_avg_pool3d", "adaptive_avg_pool3d", {"output_size": (3, None, 4)},
     [Fl(2, 3, 7, 5, 6)]),
    ("adaptive_avg_pool3d_upsample_unbatched", "adaptive_avg_pool3d", {"output_size": 5},
     [Fl(2, 3, 4, 6)]),
    ("adaptive_max_pool3d", "adaptive_max_pool3d", {"output_size": (2, 3, 4), "return_indices": True},
     [Fl(2, 3, 5, 7, 6)]),
    ("adaptive_max_pool3d_unbatched", "adaptive_max_pool3d",
     {"output_size": (5, None, 2), "return_indices": True}, [Fl(2, 3, 5, 4)]),
    ("adaptive_max_pool3d_with_indices", "adaptive_max_pool3d_with_indices", {"output_size": 2},
     [Fl(1, 2, 3, 4, 5)]),
    # max_unpool3d: (values, indices) of a max_pool3d
    ("max_unpool3d", "max_unpool3d", {"kernel_size": 2}, [MaxIndices((2, 2, 4, 6, 4), 2)]),
    ("max_unpool3d_stride_output_size", "max_unpool3d",
     {"kernel_size": 3, "stride": 2, "padding": 1, "output_size": (5, 7, 6)},
     [MaxIndices((2, 2, 5, 7, 6), 3, stride=2, padding=1)]),
    ("max_unpool3d_unbatched", "max_unpool3d", {"kernel_size": (1, 2, 2)},
     [MaxIndices((3, 2, 4, 4), (1, 2, 2))]),
]


def _inputs(makers, dtype):
    rng = np.random.default_rng(0)
    out = []
    for make in makers:
        made = make(rng, dtype)
        out += list(made) if isinstance(made, tuple) else [made]
    return out


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_functional(case, dtype, grad):
    _, name, kwargs, makers = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's note on 'same' padding with even kernels
        check_function(lambda *xs: getattr(TF, name)(*xs, **kwargs),
                       lambda *xs: getattr(F, name)(*xs, **kwargs), _inputs(makers, dtype), dtype,
                       grad=grad)


def test_torch_spellings():
    """torch.conv3d, torch.conv_transpose3d and torch.max_pool3d (ATen's stride=() default)."""
    rng = np.random.default_rng(1)
    x, w, b = rand(rng, 2, 3, 4, 4, 4), rand(rng, 2, 3, 2, 2, 2), rand(rng, 2)
    for name, args, kwargs in [("conv3d", (w, b), {"stride": 2, "padding": 1}),
                               ("conv_transpose3d", (rand(rng, 3, 2, 2, 2, 2),), {"stride": 2}),
                               ("max_pool3d", (), {"kernel_size": 3, "padding": 1})]:
        check_function(lambda *xs: getattr(torch, name)(*xs, **kwargs),
                       lambda *xs: getattr(terra, name)(*xs, **kwargs), [x, *args], "float64",
                       grad=False)


@pytest.mark.parametrize("name,weight,kwargs", [
    ("conv3d", (2, 3, 2, 2, 2), {}), ("conv_transpose3d", (3, 2, 2, 2, 2), {}),
    ("max_pool3d", None, {"kernel_size": 2}), ("avg_pool3d", None, {"kernel_size": 2}),
    ("adaptive_avg_pool3d", None, {"output_size": 2}),
    ("adaptive_max_pool3d", None, {"output_size": 2, "return_indices": True})])
def test_empty_batch(name, weight, kwargs):
    inputs = [np.zeros((0, 3, 4, 4, 4))] + ([] if weight is None else [np.ones(weight)])
    check_function(lambda *xs: getattr(TF, name)(*xs, **kwargs),
                   lambda *xs: getattr(F, name)(*xs, **kwargs), inputs, "float64", grad=False)


# (id, class name, constructor arguments, input makers, forward keyword arguments)
LAYERS = [
    ("conv3d", "Conv3d", ((3, 4, 2),), [Fl(2, 3, 4, 5, 4)], {}),
    ("conv3d_groups_nobias", "Conv3d",
     ((4, 6, (2, 3, 2)), {"stride": (1, 2, 1), "padding": 1, "groups": 2, "bias": False}),
     [Fl(2, 4, 4, 5, 4)], {}),
    ("conv3d_same", "Conv3d", ((2, 3, 3), {"padding": "same", "dilation": 2}), [Fl(1, 2, 5, 6, 5)],
     {}),
    ("conv3d_unbatched_reflect", "Conv3d", ((2, 3, 3), {"padding": (1, 2, 1), "padding_mode": "reflect"}),
     [Fl(2, 4, 5, 4)], {}),
    ("conv3d_replicate", "Conv3d", ((2, 3, 3), {"padding": 2, "stride": 2, "padding_mode": "replicate"}),
     [Fl(2, 2, 4, 5, 4)], {}),
    ("conv3d_circular", "Conv3d", ((2, 2, 3), {"padding": (2, 1, 1), "padding_mode": "circular"}),
     [Fl(1, 2, 4, 4, 5)], {}),
    ("conv_transpose3d", "ConvTranspose3d", ((4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}),
     [Fl(2, 4, 3, 2, 3)], {}),
    ("conv_transpose3d_output_size", "ConvTranspose3d", ((3, 2, 2), {"stride": 2, "bias": False}),
     [Fl(3, 2, 3, 2)], {"output_size": (5, 7, 4)}),
    ("max_pool3d", "MaxPool3d", ((3,), {"stride": 2, "padding": 1, "return_indices": True}),
     [Fl(2, 2, 5, 6, 5)], {}),
    ("avg_pool3d", "AvgPool3d", ((2,), {"ceil_mode": True, "count_include_pad": False}),
     [Fl(2, 2, 5, 4, 3)], {}),
    ("adaptive_avg_pool3d", "AdaptiveAvgPool3d", (((2, 3, None),),), [Fl(2, 2, 5, 4, 3)], {}),
    ("adaptive_max_pool3d", "AdaptiveMaxPool3d", ((2,), {"return_indices": True}),
     [Fl(2, 2, 5, 4, 3)], {}),
    ("max_unpool3d", "MaxUnpool3d", ((2,),), [MaxIndices((2, 2, 4, 5, 4), 2)],
     {"output_size": (4, 5, 4)}),
]


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer(case, dtype, grad):
    _, name, construct, makers, kwargs = case
    args, ctor_kwargs = (construct + ({},))[:2]
    inputs = _inputs(makers, dtype)
    grad_inputs = [0] if name == "MaxUnpool3d" else None
    check_module(lambda: getattr(torch.nn, name)(*args, **ctor_kwargs),
                 lambda: getattr(nn, name)(*args, **ctor_kwargs), inputs, dtype, grad=grad,
                 kwargs=kwargs, grad_inputs=grad_inputs)
    assert repr(getattr(nn, name)(*args, **ctor_kwargs)) == \
        repr(getattr(torch.nn, name)(*args, **ctor_kwargs))


def _call(name, *arrays, **kwargs):
    """A call of F.<name> / torch's on tensors of the given arrays, for each library."""
    def run(lib, functional):
        return lambda: getattr(functional, name)(*[lib.tensor(a) for a in arrays], **kwargs)
    return run(torch, TF), run(terra, F)


_X = np.linspace(-1.0, 1.0, 2 * 3 * 4 * 5 * 6).reshape(2, 3, 4, 5, 6)
_W = np.linspace(-0.5, 0.5, 4 * 3 * 2 * 2 * 2).reshape(4, 3, 2, 2, 2)
_VOLUME = np.ones((2, 4, 3, 3, 3))

# (id, function name, arrays, keyword arguments): calls that fail in PyTorch.
ERRORS = [
    ("conv3d_rank", "conv3d", [_X[0, 0], _W], {}),
    ("conv3d_weight_rank", "conv3d", [_X, _W[0]], {}),
    ("conv3d_channels", "conv3d", [_X[:, :2], _W], {}),
    ("conv3d_groups", "conv3d", [_X, _W], {"groups": 2}),
    ("conv3d_kernel_too_big", "conv3d", [_X[:, :, :1], _W], {}),
    ("conv3d_bias_size", "conv3d", [_X, _W, np.ones(3)], {}),
    ("conv3d_stride_zero", "conv3d", [_X, _W], {"stride": 0}),
    ("conv3d_stride_length", "conv3d", [_X, _W], {"stride": (1, 2)}),
    ("conv3d_negative_padding", "conv3d", [_X, _W], {"padding": -1}),
    ("conv3d_same_strided", "conv3d", [_X, _W], {"padding": "same", "stride": 2}),
    ("conv3d_dtype", "conv3d", [_X.astype(np.float32), _W], {}),
    ("conv_transpose3d_rank", "conv_transpose3d", [_X[0, 0], _W], {}),
    ("conv_transpose3d_channels", "conv_transpose3d", [_X, _W], {}),
    ("conv_transpose3d_output_padding", "conv_transpose3d", [_VOLUME, _W], {"output_padding": 1}),
    ("conv_transpose3d_groups", "conv_transpose3d", [_VOLUME, _W], {"groups": 3}),
    ("conv_transpose3d_too_small", "conv_transpose3d", [_VOLUME[..., :1, :1, :1], _W],
     {"padding": 2}),
    ("max_pool3d_rank", "max_pool3d", [_X[0, 0]], {"kernel_size": 2}),
    ("max_pool3d_kernel_length", "max_pool3d", [_X], {"kernel_size": (2, 2)}),
    ("max_pool3d_kernel_zero", "max_pool3d", [_X], {"kernel_size": 0}),
    ("max_pool3d_padding", "max_pool3d", [_X], {"kernel_size": 2, "padding": 2}),
    ("max_pool3d_too_small", "max_pool3d", [_X], {"kernel_size": 6}),
    ("max_pool3d_dilation_zero", "max_pool3d", [_X], {"kernel_size": 2, "dilation": 0}),
    ("avg_pool3d_rank", "avg_pool3d", [_X[0, 0]], {"kernel_size": 2}),
    ("avg_pool3d_kernel_length", "avg_pool3d", [_X], {"kernel_size": (2, 2)}),
    ("avg_pool3d_padding", "avg_pool3d", [_X], {"kernel_size": 2, "padding": 2}),
    ("avg_pool3d_kernel_too_big", "avg_pool3d", [_X], {"kernel_size": 5, "padding": 2}),
    ("avg_pool3d_divisor_zero", "avg_pool3d", [_X], {"kernel_size": 2, "divisor_override": 0}),
    ("adaptive_avg_pool3d_rank", "adaptive_avg_pool3d", [_X[0, 0]], {"output_size": 2}),
    ("adaptive_avg_pool3d_size_length", "adaptive_avg_pool3d", [_X], {"output_size": (2, 2)}),
    ("adaptive_max_pool3d_rank", "adaptive_max_pool3d", [_X[0, 0]], {"output_size": 2}),
    ("adaptive_max_pool3d_size_length", "adaptive_max_pool3d", [_X], {"output_size": (2, 2)}),
    ("max_unpool3d_rank", "max_unpool3d", [_X[0, 0], np.zeros((5, 6), dtype=np.int64)],
     {"kernel_size": 2}),
    ("max_unpool3d_indices_shape", "max_unpool3d", [_X, np.zeros((2, 3, 4, 5, 5), dtype=np.int64)],
     {"kernel_size": 2}),
    ("max_unpool3d_invalid_index", "max_unpool3d", [_X, np.full(_X.shape, 10 ** 6)],
     {"kernel_size": 2}),
    ("max_unpool3d_output_size", "max_unpool3d", [_X, np.zeros(_X.shape, dtype=np.int64)],
     {"kernel_size": 2, "output_size": (1, 2, 3)}),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors(case):
    _, name, arrays, kwargs = case
    torch_message, terra_message = assert_same_error(*_call(name, *arrays, **kwargs))
    assert terra_message, "an empty message"


def test_error_messages_name_the_problem():
    """Messages as PyTorch words them, for the checks composed in Python."""
    for name, arrays, kwargs in [("conv3d", [_X[:, :2], _W], {}),
                                 ("conv3d", [_X[0, 0], _W], {}),
                                 ("max_pool3d", [_X], {"kernel_size": (2, 2)}),
                                 ("avg_pool3d", [_X], {"kernel_size": 2, "padding": 2}),
                                 ("max_unpool3d", [_X[0, 0], np.zeros((5, 6), dtype=np.int64)],
                                  {"kernel_size": 2})]:
        torch_message, terra_message = assert_same_error(*_call(name, *arrays, **kwargs))
        assert terra_message == torch_message


def test_layer_constructor_errors():
    for make in [lambda lib: lib.nn.Conv3d(3, 4, 2, groups=2),
                 lambda lib: lib.nn.Conv3d(3, 4, 2, padding_mode="mirror"),
                 lambda lib: lib.nn.ConvTranspose3d(3, 4, 2, padding_mode="reflect"),
                 lambda lib: lib.nn.Conv3d(3, 4, 2, padding="same", stride=2)]:
        assert_same_error(lambda: make(torch), lambda: make(terra))
