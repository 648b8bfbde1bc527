"""terra.nn.functional against torch.nn.functional (PyTorch 1.13): outputs and input gradients
for every function, PyTorch's argument forms (int/tuple, 'same', legacy size_average/reduce,
implicit softmax dim), and scaled_dot_product_attention against its definition."""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import terra
import terra.nn.functional as F
from nn_parity import DTYPES, check_function, close, phases, rand
from parity import to_numpy


def Fl(*shape, scale=1.0):
    return lambda rng, dt: rand(rng, *shape, dtype=dt) * np.asarray(scale, dtype=dt)


def Int(high, *shape):
    return lambda rng, dt: rng.integers(0, high, size=shape).astype(np.int64)


def Prob(*shape):
    return lambda rng, dt: rng.uniform(0.05, 0.95, size=shape).astype(dt)


def Pos(*shape):
    return lambda rng, dt: rng.uniform(0.5, 2.0, size=shape).astype(dt)


def _both(name, args, kwargs, extra=None):
    """(torch fn, terra fn) calling F.<name>(*inputs, *args, **kwargs) in each library; `args`
    may instead be a function arranging the inputs into the positional arguments; `extra` is a
    (keyword, numpy array) passed as a tensor of each library."""
    arrange = args if callable(args) else (lambda xs: tuple(xs) + tuple(args))
    t_kw, x_kw = dict(kwargs), dict(kwargs)
    if extra is not None:
        t_kw[extra[0]] = torch.tensor(extra[1])
        x_kw[extra[0]] = terra.tensor(extra[1])
    return (lambda *xs: getattr(TF, name)(*arrange(xs), **t_kw),
            lambda *xs: getattr(F, name)(*arrange(xs), **x_kw))


# (id, function name, extra args, extra kwargs, inputs, grad input positions or None)
CASES = [
    ("linear", "linear", (), {}, [Fl(4, 3), Fl(5, 3), Fl(5)], None),
    ("linear_nobias", "linear", (), {}, [Fl(2, 4, 3), Fl(5, 3)], None),
    ("conv1d", "conv1d", (), {"stride": 2, "padding": 1}, [Fl(2, 3, 9), Fl(4, 3, 3), Fl(4)], None),
    ("conv1d_same", "conv1d", (), {"padding": "same", "dilation": 2},
     [Fl(2, 3, 9), Fl(4, 3, 4)], None),
    ("conv2d", "conv2d", (), {"stride": (1, 2), "padding": (2, 1), "dilation": 1},
     [Fl(2, 3, 6, 7), Fl(4, 3, 3, 3), Fl(4)], None),
    ("conv2d_groups", "conv2d", (), {"groups": 2, "padding": 1},
     [Fl(2, 4, 5, 5), Fl(6, 2, 3, 3)], None),
    ("conv2d_same", "conv2d", (), {"padding": "same"}, [Fl(2, 3, 5, 6), Fl(2, 3, 2, 3)], None),
    ("conv2d_valid", "conv2d", (), {"padding": "valid"}, [Fl(1, 3, 5, 6), Fl(2, 3, 2, 3)], None),
    ("conv_transpose2d", "conv_transpose2d", (), {"stride": 2, "padding": 1, "output_padding": 1},
     [Fl(2, 3, 4, 4), Fl(3, 2, 3, 3), Fl(2)], None),
    ("max_pool2d", "max_pool2d", (2,), {}, [Fl(2, 3, 6, 6)], None),
    ("max_pool2d_indices", "max_pool2d", (3,), {"stride": 2, "padding": 1, "return_indices": True},
     [Fl(2, 3, 7, 7)], None),
    ("max_pool2d_dilation", "max_pool2d", ((2, 3),), {"stride": 1, "dilation": 2},
     [Fl(1, 2, 7, 8)], None),
    ("avg_pool2d", "avg_pool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True},
     [Fl(2, 3, 8, 8)], None),
    ("avg_pool2d_divisor", "avg_pool2d", (2,), {"divisor_override": 3}, [Fl(2, 3, 4, 6)], None),
    ("adaptive_avg_pool2d", "adaptive_avg_pool2d", ((2, None),), {}, [Fl(2, 3, 7, 5)], None),
    ("layer_norm", "layer_norm", ((3, 4),), {}, [Fl(2, 3, 4)], None),
    ("layer_norm_affine", "layer_norm", lambda xs: (xs[0], (4,), xs[1], xs[2]), {"eps": 1e-3},
     [Fl(3, 4), Fl(4), Fl(4)], None),
    ("instance_norm", "instance_norm", (), {"eps": 1e-3}, [Fl(2, 3, 5)], None),
    ("instance_norm_affine", "instance_norm", lambda xs: (xs[0], None, None, xs[1], xs[2]), {},
     [Fl(2, 3, 4, 3), Fl(3), Fl(3)], None),
    ("group_norm", "group_norm", (2,), {}, [Fl(3, 4, 5)], None),
    ("group_norm_affine", "group_norm", lambda xs: (xs[0], 3, xs[1], xs[2]), {"eps": 1e-4},
     [Fl(2, 6, 2, 2), Fl(6), Fl(6)], None),
    ("embedding", "embedding", (), {}, [Int(7, 3, 4), Fl(7, 5)], None),
    ("embedding_padding", "embedding", (), {"padding_idx": 2}, [Int(4, 3, 4), Fl(7, 5)], None),
    ("relu", "relu", (), {}, [Fl(3, 4)], None),
    ("gelu", "gelu", (), {}, [Fl(3, 4, scale=3)], None),
    ("gelu_tanh", "gelu", (), {"approximate": "tanh"}, [Fl(3, 4, scale=3)], None),
    ("silu", "silu", (), {}, [Fl(3, 4, scale=3)], None),
    ("tanh", "tanh", (), {}, [Fl(3, 4, scale=3)], None),
    ("sigmoid", "sigmoid", (), {}, [Fl(3, 4, scale=3)], None),
    ("leaky_relu", "leaky_relu", (0.3,), {}, [Fl(3, 4)], None),
    ("elu", "elu", (), {"alpha": 1.5}, [Fl(3, 4, scale=3)], None),
    ("softplus", "softplus", (), {"beta": 2, "threshold": 3}, [Fl(3, 4, scale=3)], None),
    ("softmax", "softmax", (), {"dim": 1}, [Fl(3, 4, 2, scale=3)], None),
    ("softmax_neg", "softmax", (), {"dim": -1}, [Fl(3, 4, scale=3)], None),
    ("log_softmax", "log_softmax", (), {"dim": 0}, [Fl(3, 4, scale=3)], None),
    ("glu", "glu", (), {"dim": -1}, [Fl(3, 4)], None),
    ("logsigmoid", "logsigmoid", (), {}, [Fl(3, 4, scale=3)], None),
    ("hardtanh", "hardtanh", (-0.4, 0.6), {}, [Fl(3, 4)], None),
    ("normalize", "normalize", (), {"dim": 1}, [Fl(3, 4)], None),
    ("cosine_similarity", "cosine_similarity", (), {"dim": 1}, [Fl(3, 4, 2), Fl(3, 4, 2)], None),
    ("pairwise_distance", "pairwise_distance", (), {"p": 3.0, "keepdim": True},
     [Fl(3, 4), Fl(3, 4)], None),
    ("normalize_p1", "normalize", (), {"p": 1.0, "dim": 0}, [Fl(3, 4)], None),
    ("cross_entropy", "cross_entropy", (), {}, [Fl(5, 4, scale=2), Int(4, 5)], [0]),
    ("cross_entropy_weight_ignore", "cross_entropy", (), {"ignore_index": 0},
     [Fl(6, 4), Int(4, 6), Pos(4)], [0]),
    ("cross_entropy_smooth_sum", "cross_entropy", (), {"label_smoothing": 0.2, "reduction": "sum"},
     [Fl(6, 4), Int(4, 6)], [0]),
    ("cross_entropy_kdim_none", "cross_entropy", (), {"reduction": "none"},
     [Fl(2, 3, 4), Int(3, 2, 4)], [0]),
    ("nll_loss", "nll_loss", (), {}, [Fl(5, 4), Int(4, 5)], [0]),
    ("nll_loss_weight_sum", "nll_loss", (), {"reduction": "sum"}, [Fl(5, 4), Int(4, 5), Pos(4)],
     [0]),
    ("mse_loss", "mse_loss", (), {}, [Fl(3, 4), Fl(3, 4)], [0, 1]),
    ("l1_loss", "l1_loss", (), {"reduction": "sum"}, [Fl(3, 4), Fl(3, 4)], [0, 1]),
    ("smooth_l1_loss", "smooth_l1_loss", (), {"beta": 0.3}, [Fl(3, 4), Fl(3, 4)], [0]),
    ("smooth_l1_loss_beta0", "smooth_l1_loss", (), {"beta": 0.0}, [Fl(3, 4), Fl(3, 4)], [0]),
    ("huber_loss", "huber_loss", (), {"delta": 0.4, "reduction": "none"}, [Fl(3, 4), Fl(3, 4)],
     [0]),
    ("bce", "binary_cross_entropy", (), {}, [Prob(3, 4), Prob(3, 4)], [0]),
    ("bce_weight_broadcast", "binary_cross_entropy", (), {"reduction": "sum"},
     [Prob(3, 4), Prob(3, 4), Pos(4)], [0]),
    ("bce_logits", "binary_cross_entropy_with_logits", (), {"reduction": "none"},
     [Fl(3, 4, scale=3), Prob(3, 4)], [0]),
    ("bce_logits_pos_weight", "binary_cross_entropy_with_logits", (), {"pos_weight": None},
     [Fl(3, 4, scale=3), Prob(3, 4), Pos(4)], [0]),
    ("kl_div", "kl_div", (), {"reduction": "sum"}, [Fl(3, 4), Prob(3, 4)], [0]),
    ("kl_div_log_target", "kl_div", (), {"reduction": "batchmean", "log_target": True},
     [Fl(3, 4), Fl(3, 4)], [0]),
    ("pad_constant", "pad", ((1, 2, 0, 1),), {"value": 0.5}, [Fl(2, 3, 4)], None),
    ("pad_reflect", "pad", ((2, 1, 1, 2),), {"mode": "reflect"}, [Fl(1, 2, 4, 5)], None),
    ("pad_reflect_3d", "pad", ((2, 1, -1, 2, 1, 1),), {"mode": "reflect"}, [Fl(2, 3, 4, 5)], None),
    ("pad_replicate_1d", "pad", ((2, 3),), {"mode": "replicate"}, [Fl(2, 3, 5)], None),
    ("pad_replicate_2d_crop", "pad", ((6, -1, 1, 3),), {"mode": "replicate"}, [Fl(2, 4, 5)], None),
    ("pad_replicate_3d", "pad", ((1, 2, 0, 1, 2, 1),), {"mode": "replicate"}, [Fl(1, 2, 3, 4, 5)],
     None),
    ("pad_circular_1d", "pad", ((2, 5),), {"mode": "circular"}, [Fl(2, 3, 5)], None),
    ("pad_circular_2d_crop", "pad", ((1, -1, -2, 2),), {"mode": "circular"}, [Fl(2, 2, 4, 5)],
     None),
    ("pad_circular_3d", "pad", ((2, 1, 1, 2, 3, 3),), {"mode": "circular"}, [Fl(1, 2, 3, 4, 5)],
     None),
    ("interpolate_scale", "interpolate", (), {"scale_factor": 2}, [Fl(2, 3, 3, 4)], None),
    ("interpolate_size", "interpolate", (), {"size": (5, 3)}, [Fl(2, 3, 3, 4)], None),
    ("interpolate_frac", "interpolate", (), {"scale_factor": 1.5}, [Fl(2, 3, 5, 3)], None),
    ("interpolate_1d", "interpolate", (), {"size": 7}, [Fl(2, 3, 4)], None),
    ("interpolate_3d", "interpolate", (), {"scale_factor": (2, 1, 0.5)}, [Fl(1, 2, 2, 3, 4)], None),
]


def _prepare(case, dtype):
    _, name, args, kwargs, makers, grad_inputs = case
    rng = np.random.default_rng(0)
    inputs = [None if m is None else m(rng, dtype) for m in makers]
    kwargs = dict(kwargs)
    # Trailing optional tensors: bias/weight after the required inputs of these functions.
    if name in ("cross_entropy", "nll_loss", "binary_cross_entropy") and len(inputs) == 3:
        extra = inputs.pop()
        return name, args, kwargs, inputs, grad_inputs, ("weight", extra)
    if name == "binary_cross_entropy_with_logits" and len(inputs) == 3:
        extra = inputs.pop()
        kwargs.pop("pos_weight", None)
        return name, args, kwargs, inputs, grad_inputs, ("pos_weight", extra)
    return name, args, kwargs, inputs, grad_inputs, None


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_functional(case, dtype, grad):
    name, args, kwargs, inputs, grad_inputs, extra = _prepare(case, dtype)
    t_fn, x_fn = _both(name, args, kwargs, extra)
    check_function(t_fn, x_fn, inputs, dtype, grad=grad, grad_inputs=grad_inputs)


# (function, input shape, keyword arguments): normalizations that update running statistics.
NORMS_WITH_STATS = [("batch_norm", (4, 3, 5), {"training": True}), ("batch_norm", (4, 3, 5), {"training": False}),
                    ("instance_norm", (2, 3, 4, 2), {"use_input_stats": True}),
                    ("instance_norm", (2, 3, 4, 2), {"use_input_stats": False})]


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,shape,kwargs", NORMS_WITH_STATS)
def test_norm_with_running_stats(dtype, name, shape, kwargs, grad):
    rng = np.random.default_rng(0)
    x = rand(rng, *shape, dtype=dtype)
    mean, var = rand(rng, 3, dtype=dtype), rng.uniform(0.5, 2, 3).astype(dtype)
    w, b = rand(rng, 3, dtype=dtype), rand(rng, 3, dtype=dtype)
    stats = {}

    def run(lib, mod):
        def fn(x, w, b):
            rm, rv = lib.tensor(mean), lib.tensor(var)
            out = getattr(mod, name)(x, rm, rv, w, b, momentum=0.3, eps=1e-4, **kwargs)
            stats[lib.__name__] = (rm, rv)
            return out
        return fn

    check_function(run(torch, TF), run(terra, F), [x, w, b], dtype, grad=grad)
    for t, xx in zip(stats["torch"], stats["terra"]):
        close(xx, t, dtype, "running stats")


def test_instance_norm_errors():
    cases = [
        lambda lib: lib.nn.functional.instance_norm(lib.ones(2, 3, 1)),  # one spatial element
        lambda lib: lib.nn.functional.instance_norm(lib.ones(2, 3, 4), use_input_stats=False),
        lambda lib: lib.nn.functional.instance_norm(lib.ones(2, 3, 4), weight=lib.ones(4)),
        lambda lib: lib.nn.functional.instance_norm(lib.ones(2, 3, 4), lib.zeros(3), lib.ones(3),
                                                    momentum=None),
        lambda lib: lib.nn.functional.instance_norm(lib.ones(2, 3, 4, dtype=lib.int64)),
    ]
    matches = [r"Expected more than 1 spatial element when training, got input size "
               r"terra.Size\(\[2, 3, 1\]\)",
               "Expected running_mean and running_var to be defined when use_input_stats is false",
               "weight should contain 6 elements not 8",
               r"instance_norm\(\): argument 'momentum' \(position 7\) must be float, not NoneType",
               "\"batch_norm\" not implemented for 'int64'"]
    for call, match in zip(cases, matches):
        with pytest.raises(Exception) as ref:
            call(torch)
        with pytest.raises(ref.type, match=match):
            call(terra)


# (input shape, pad, mode, dtype, the message terra raises); torch raises the same type.
PAD_ERRORS = [
    ((3,), (1, 1), "replicate", "float32",
     "Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now"),
    ((2, 2, 3), (1, 1, 1, 1, 1, 1), "circular", "float32", "Only 2D, 3D, 4D, 5D padding"),
    ((2, 3), (1, 1), "circular", "float32", "Invalid padding size, expected 0 but got 2"),
    ((2, 2, 3, 3), (1, 1, 1, 1, 1, 1), "circular", "float32",
     "Invalid padding size, expected 4 but got 6"),
    ((2, 2, 3), (4, 1), "circular", "float32", "Padding value causes wrapping around more than once"),
    ((2, 2, 3), (-3, -1), "circular", "float32",
     "Negative padding value is resulting in an empty dimension"),
    ((2, 0, 3), (1, 1), "replicate", "float32",
     r"Expected 2D or 3D \(batch mode\) tensor with possibly 0 batch size and other non-zero "
     r"dimensions for input, but got: \[2, 0, 3\]"),
    ((0, 3, 3, 3), (1, 1, 1, 1, 1, 1), "reflect", "float32",
     r"Expected 4D or 5D \(batch mode\) tensor with possibly 0 batch size .* but got: \[0, 3, 3, 3\]"),
    ((2, 2, 3, 3), (-2, -1, -2, -1), "replicate", "float32",
     r"input \(H: 3, W: 3\) is too small. Calculated output H: 0 W: 0"),
    ((2, 2, 3, 3, 3), (-2, -1, -2, -1, -3, 0), "reflect", "float32",
     r"input \(D: 3 H: 3, W: 3\) is too small. Calculated output D: 0 H: 0 W: 0"),
    ((2, 2, 3, 3, 3), (1, 1, 1, 1, 3, 0), "reflect", "float32",
     r"Argument #8: Padding size should be less than the corresponding input dimension, but got: "
     r"padding \(3, 0\) at dimension 2 of input \[2, 2, 3, 3, 3\]"),
    ((2, 2, 3), (1, 1), "replicate", "int64", "\"replication_pad1d\" not implemented for 'int64'"),
    ((2, 2, 3, 3, 3), (1, 1, 1, 1, 1, 1), "replicate", "int32",
     "\"replication_pad3d\" not implemented for 'int32'"),
]


@pytest.mark.parametrize("shape,pad,mode,dtype,match", PAD_ERRORS)
def test_pad_mode_errors(shape, pad, mode, dtype, match):
    with pytest.raises(Exception) as ref:
        TF.pad(torch.ones(*shape, dtype=getattr(torch, dtype)), pad, mode=mode)
    with pytest.raises(ref.type, match=match):
        F.pad(terra.ones(*shape, dtype=getattr(terra, dtype)), pad, mode=mode)


def test_pad_value_only_in_constant_mode():
    for mode in ["reflect", "replicate", "circular"]:
        with pytest.raises(RuntimeError, match=f'Padding mode "{mode}" doesn\'t take in value argument'):
            F.pad(terra.ones(2, 3, 4), (1, 1), mode=mode, value=1.0)
        assert tuple(F.pad(terra.ones(2, 3, 4), (1, 1), mode=mode, value=0.0).shape) == (2, 3, 6)


def test_circular_pad_wrapping_past_what_a_negative_pad_leaves():
    # PyTorch 1.13 copies the right pad out of the 1 element the left pad leaves, reading memory
    # it never wrote (or refusing overlapping copies): Terra raises instead.
    x = rand(np.random.default_rng(0), 1, 2, 3)
    with pytest.raises(NotImplementedError, match=r"would wrap more than once around the 1 elements"):
        F.pad(terra.tensor(x), (-2, 3), mode="circular")
    close(F.pad(terra.tensor(x), (-2, 1), mode="circular"),
          TF.pad(torch.tensor(x), (-2, 1), mode="circular"), "float32")


def test_circular_pad_keeps_integer_and_bool_dtypes():
    x = np.arange(24).reshape(2, 3, 4)
    for a in [x, x.astype(np.int32), x % 3 == 0]:
        np.testing.assert_array_equal(to_numpy(F.pad(terra.tensor(a), (3, 2), mode="circular")),
                                      TF.pad(torch.tensor(a), (3, 2), mode="circular").numpy())


def test_batch_norm_without_running_stats():
    x = rand(np.random.default_rng(0), 4, 3)
    close(F.batch_norm(terra.tensor(x), None, None, training=True),
          TF.batch_norm(torch.tensor(x), None, None, training=True), "float32")
    with pytest.raises(ValueError):
        F.batch_norm(terra.tensor(x[:1]), None, None, training=True)


def test_legacy_reduction_arguments():
    rng = np.random.default_rng(0)
    a, b = rand(rng, 3, 4), rand(rng, 3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kw in [{"size_average": False}, {"reduce": False}, {"size_average": True},
                   {"size_average": False, "reduce": True}]:
            close(F.mse_loss(terra.tensor(a), terra.tensor(b), **kw),
                  TF.mse_loss(torch.tensor(a), torch.tensor(b), **kw), "float32", str(kw))
            close(F.l1_loss(terra.tensor(a), terra.tensor(b), **kw),
                  TF.l1_loss(torch.tensor(a), torch.tensor(b), **kw), "float32", str(kw))


def test_implicit_softmax_dim():
    rng = np.random.default_rng(0)
    for shape in [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 2)]:
        x = rand(rng, *shape)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out = F.softmax(terra.tensor(x))
            assert any("Implicit dimension choice" in str(m.message) for m in w)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            close(out, TF.softmax(torch.tensor(x)), "float32", str(shape))
            close(F.log_softmax(terra.tensor(x)), TF.log_softmax(torch.tensor(x)), "float32")


def test_dropout():
    terra.manual_seed(0)
    x = terra.tensor(rand(np.random.default_rng(0), 200, 50)) + 3.0
    assert F.dropout(x, 0.3, training=False) is x
    assert F.dropout(x, 0.0) is x
    y = to_numpy(F.dropout(x, 0.3))
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y[kept], to_numpy(x)[kept] / 0.7, rtol=1e-6)
    assert not to_numpy(F.dropout(x, 1.0)).any()
    with pytest.raises(ValueError):
        F.dropout(x, 1.2)
    # In place, on a tensor outside autograd.
    z = x.clone()
    out = F.dropout(z, 0.5, inplace=True)
    assert out is z and (to_numpy(z) == 0).any()


def test_feature_dropout():
    terra.manual_seed(0)
    x = terra.tensor(rand(np.random.default_rng(0), 40, 30, 3, 2)) + 3.0
    y = to_numpy(F.dropout2d(x, 0.4))
    per_channel = (y == 0).reshape(40, 30, -1)
    assert (per_channel.all(axis=2) | ~per_channel.any(axis=2)).all()
    assert abs(per_channel[:, :, 0].mean() - 0.4) < 0.05
    kept = y != 0
    np.testing.assert_allclose(y[kept], to_numpy(x)[kept] / 0.6, rtol=1e-6)
    assert F.dropout2d(x, 0.4, training=False) is x
    y1 = to_numpy(F.dropout1d(x[0], 0.5))  # (N, C, L)
    assert ((y1 == 0).all(axis=2) | (y1 != 0).all(axis=2)).all() and (y1 == 0).any()
    y1 = to_numpy(F.dropout1d(x[0, 0], 0.5))  # unbatched (C, L)
    assert ((y1 == 0).all(axis=1) | (y1 != 0).all(axis=1)).all()
    with pytest.raises(RuntimeError):
        F.dropout1d(x, 0.5)
    m = terra.nn.Dropout2d(0.3)
    assert repr(m) == repr(torch.nn.Dropout2d(0.3))
    assert m.eval()(x) is x


def test_inplace_activations():
    x = terra.tensor(rand(np.random.default_rng(0), 3, 4))
    y = x.clone()
    assert F.relu(y, inplace=True) is y
    np.testing.assert_array_equal(to_numpy(y), np.maximum(to_numpy(x), 0))
    y = x.clone()
    assert F.relu_(y) is y
    y = x.clone()
    F.leaky_relu(y, 0.1, inplace=True)
    np.testing.assert_allclose(to_numpy(y), np.where(to_numpy(x) > 0, to_numpy(x),
                                                       0.1 * to_numpy(x)), rtol=1e-6)
    y = x.clone()
    assert F.hardswish(y, inplace=True) is y


def test_one_hot():
    idx = np.array([[0, 3], [2, 1]])
    for n in [-1, 5]:
        np.testing.assert_array_equal(to_numpy(F.one_hot(terra.tensor(idx), n)),
                                      to_numpy(TF.one_hot(torch.tensor(idx), n)))
    assert F.one_hot(terra.tensor(idx)).dtype == terra.int64


def test_cross_entropy_probability_targets_with_weight_and_smoothing():
    rng = np.random.default_rng(0)
    x = rand(rng, 5, 4, 3)
    p = rng.uniform(0.1, 1, size=(5, 4, 3))
    p = (p / p.sum(1, keepdims=True)).astype(np.float32)
    w = rng.uniform(0.5, 2, size=4).astype(np.float32)
    for red in ["mean", "sum", "none"]:
        close(F.cross_entropy(terra.tensor(x), terra.tensor(p), terra.tensor(w), reduction=red,
                              label_smoothing=0.1),
              TF.cross_entropy(torch.tensor(x), torch.tensor(p), torch.tensor(w), reduction=red,
                               label_smoothing=0.1), "float32", red)


def test_loss_input_errors():
    with pytest.raises(ValueError):
        F.binary_cross_entropy(terra.full((3,), 0.5), terra.full((3, 1), 0.5))
    with pytest.raises(ValueError):
        F.binary_cross_entropy_with_logits(terra.zeros(3), terra.zeros(2))
    with pytest.warns(UserWarning):
        out = F.mse_loss(terra.ones(3, 1), terra.zeros(3))
    assert float(out) == 1.0


def _sdpa_reference(lib, q, k, v, mask=None, causal=False):
    """Attention by its definition, in the given library."""
    scale = 1.0 / math.sqrt(q.shape[-1])
    scores = q @ k.transpose(-2, -1) * scale
    if causal:
        keep = lib.ones(q.shape[-2], k.shape[-2], dtype=lib.bool).tril()
        scores = scores.masked_fill(~keep, float("-inf"))
    elif mask is not None:
        if mask.dtype == lib.bool:
            scores = scores.masked_fill(~mask, float("-inf"))
        else:
            scores = scores + mask
    return lib.softmax(scores, -1) @ v


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal"])
def test_scaled_dot_product_attention(dtype, mask, grad):
    rng = np.random.default_rng(0)
    q, k, v = rand(rng, 2, 3, 5, 4, dtype=dtype), rand(rng, 2, 3, 6, 4, dtype=dtype), \
        rand(rng, 2, 3, 6, 7, dtype=dtype)
    m = None
    if mask == "bool":
        m = rng.uniform(size=(5, 6)) > 0.3
        m[:, 0] = True
    elif mask == "float":
        m = rand(rng, 5, 6, dtype=dtype)
    causal = mask == "causal"
    q2 = q[:, :, :, :] if not causal else q[:, :, :6 - 1, :]

    def t_fn(q, k, v):
        return _sdpa_reference(torch, q, k, v, None if m is None else torch.tensor(m), causal)

    def x_fn(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, None if m is None else terra.tensor(m),
                                              is_causal=causal)

    check_function(t_fn, x_fn, [q2, k, v], dtype, grad=grad)


def test_scaled_dot_product_attention_dropout():
    terra.manual_seed(0)
    rng = np.random.default_rng(0)
    q, k, v = (terra.tensor(rand(rng, 2, 8, 4)) for _ in range(3))
    full = to_numpy(F.scaled_dot_product_attention(q, k, v))
    dropped = to_numpy(F.scaled_dot_product_attention(q, k, v, dropout_p=0.5))
    assert dropped.shape == full.shape and not np.allclose(dropped, full)


def test_gumbel_softmax_samples_the_softmax_and_hard_passes_the_soft_gradient():
    logits = terra.tensor([[1.0, 2.0, 0.5, -1.0]])
    terra.manual_seed(3)
    hard = F.gumbel_softmax(logits.expand(20000, 4), tau=0.7, hard=True)
    assert hard.dtype == terra.float32 and tuple(hard.shape) == (20000, 4)
    assert set(np.unique(hard.numpy())) == {0.0, 1.0} and (hard.sum(dim=1) == 1).all().item()
    np.testing.assert_allclose(hard.mean(dim=0).numpy(), logits.softmax(-1)[0].numpy(), atol=0.015)
    # Straight-through: the one-hot sample carries the soft sample's gradient.
    weights = terra.tensor(np.random.default_rng(2).standard_normal((5, 4)), dtype=terra.float32)
    grads = []
    for is_hard in (False, True):
        x = terra.tensor(np.random.default_rng(4).standard_normal((5, 4)), dtype=terra.float32, requires_grad=True)
        terra.manual_seed(9)
        y = F.gumbel_softmax(x, tau=1.5, hard=is_hard, dim=1)
        (y * weights).sum().backward()
        grads.append(x.grad.numpy())
        if not is_hard:
            np.testing.assert_allclose(y.detach().sum(dim=1).numpy(), np.ones(5), rtol=1e-6)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)
    assert TF.gumbel_softmax(torch.zeros(2, 3), hard=True).shape == (2, 3)


def test_normalize_writes_into_out_and_returns_it():
    x = terra.tensor(np.random.default_rng(3).standard_normal((3, 4)))
    out = terra.empty(3, 4, dtype=terra.float64)
    assert F.normalize(x, dim=0, out=out) is out
    expected = torch.nn.functional.normalize(torch.tensor(x.numpy()), dim=0)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)
