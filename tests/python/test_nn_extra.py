"""The less common nn losses and layers (nn/_functional_extra.py, modules/loss_extra.py,
pixelshuffle.py, fold.py, extra.py) against PyTorch 1.13: values and the gradients of every
differentiable input for each function and reduction, the module classes (state, repr), the
error messages of wrong shapes, and the random ones (rrelu, alpha dropout) by their statistics."""
import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import terra
import terra.nn as nn
import terra.nn.functional as F
from nn_parity import check_function, check_module, close, phases, rand
from parity import to_numpy


# Input makers: (rng, dtype) -> numpy array.
def Fl(*shape, scale=1.0):
    return lambda rng, dt: rand(rng, *shape, dtype=dt) * np.asarray(scale, dtype=dt)


def Pos(*shape, low=0.5, high=2.0):
    return lambda rng, dt: rng.uniform(low, high, size=shape).astype(dt)


def Sign(*shape):
    """Targets of the ranking and embedding losses: +1 or -1."""
    return lambda rng, dt: np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0).astype(dt)


def Int(high, *shape):
    return lambda rng, dt: rng.integers(0, high, size=shape).astype(np.int64)


def Labels(n, c):
    """multilabel_margin_loss targets: distinct classes, then -1, then anything (ignored)."""
    def make(rng, dt):
        rows = []
        for i in range(n):
            row = rng.permutation(c)
            k = i % (c + 1)  # 0 .. c listed classes
            if k < c:
                row[k] = -1
            rows.append(row)
        return np.array(rows, dtype=np.int64)
    return make


def Case(id, fn, makers, grad=None, f32=False, rtol=None, torch_grad_fn=None):
    """fn(functional module, *inputs) runs in both libraries; grad: positions of the inputs
    whose gradients PyTorch defines (default all floating ones); torch_grad_fn(*inputs) replaces
    torch's fn in the gradient phase where PyTorch has no derivative."""
    return dict(id=id, fn=fn, makers=makers, grad=grad, f32=f32, rtol=rtol,
                torch_grad_fn=torch_grad_fn)


# Losses: each row runs with reduction 'none', 'mean' and 'sum' (fn takes it as `reduction`).
LOSSES = [
    Case("margin_ranking", lambda F, a, b, t, **kw: F.margin_ranking_loss(a, b, t, 0.2, **kw),
         [Fl(6), Fl(6), Sign(6)], f32=True),
    Case("margin_ranking_broadcast",
         lambda F, a, b, t, **kw: F.margin_ranking_loss(a, b, t, margin=-0.1, **kw),
         [Fl(3, 4), Fl(1, 4), Sign(3, 1)]),
    Case("hinge_embedding", lambda F, x, t, **kw: F.hinge_embedding_loss(x, t, 0.5, **kw),
         [Fl(3, 4, scale=2), Sign(3, 4)], grad=[0], f32=True),
    Case("soft_margin", lambda F, x, t, **kw: F.soft_margin_loss(x, t, **kw),
         [Fl(3, 4, scale=3), Sign(3, 4)], grad=[0], f32=True),
    Case("multilabel_soft_margin", lambda F, x, t, **kw: F.multilabel_soft_margin_loss(x, t, **kw),
         [Fl(4, 5, scale=3), Pos(4, 5, low=0.0, high=1.0)]),
    Case("multilabel_soft_margin_weight",
         lambda F, x, t, w, **kw: F.multilabel_soft_margin_loss(x, t, w, **kw),
         [Fl(2, 3, 5), Pos(2, 3, 5, low=0.0, high=1.0), Pos(5)]),
    Case("cosine_embedding", lambda F, a, b, t, **kw: F.cosine_embedding_loss(a, b, t, **kw),
         [Fl(6, 4), Fl(6, 4), Sign(6)], grad=[0, 1], f32=True),
    Case("cosine_embedding_margin_0d",
         lambda F, a, b, t, **kw: F.cosine_embedding_loss(a, b, t[0], margin=-0.5, **kw),
         [Fl(5), Fl(5), Sign(1)], grad=[0, 1]),
    Case("triplet_margin", lambda F, a, p, n, **kw: F.triplet_margin_loss(a, p, n, **kw),
         [Fl(5, 4), Fl(5, 4), Fl(5, 4)], f32=True),
    Case("triplet_margin_p1_swap",
         lambda F, a, p, n, **kw: F.triplet_margin_loss(a, p, n, 0.5, p=1, swap=True, **kw),
         [Fl(6, 3), Fl(6, 3), Fl(6, 3)]),
    Case("triplet_margin_p3_1d",
         lambda F, a, p, n, **kw: F.triplet_margin_loss(a, p, n, 2.0, p=3, eps=1e-3, **kw),
         [Fl(4), Fl(4), Fl(4)]),
    Case("triplet_distance",
         lambda F, a, p, n, **kw: F.triplet_margin_with_distance_loss(a, p, n, **kw),
         [Fl(5, 4), Fl(5, 4), Fl(5, 4)]),
    Case("triplet_distance_cosine_swap",
         lambda F, a, p, n, **kw: F.triplet_margin_with_distance_loss(
             a, p, n, distance_function=lambda x, y: 1.0 - F.cosine_similarity(x, y),
             margin=0.3, swap=True, **kw),
         [Fl(6, 4), Fl(6, 4), Fl(6, 4)]),
    Case("poisson_nll", lambda F, x, t, **kw: F.poisson_nll_loss(x, t, **kw),
         [Fl(3, 4), Pos(3, 4, low=0.0, high=3.0)], f32=True),
    Case("poisson_nll_full_not_log",
         lambda F, x, t, **kw: F.poisson_nll_loss(x, t, log_input=False, full=True, eps=1e-4,
                                                  **kw),
         [Pos(3, 4, low=0.1, high=2.0), Pos(3, 4, low=0.2, high=3.0)]),
    Case("poisson_nll_full", lambda F, x, t, **kw: F.poisson_nll_loss(x, t, full=True, **kw),
         [Fl(4, 5), Pos(4, 5, low=0.5, high=4.0)]),
    Case("gaussian_nll", lambda F, x, t, v, **kw: F.gaussian_nll_loss(x, t, v, **kw),
         [Fl(3, 4), Fl(3, 4), Pos(3, 4)], f32=True),
    Case("gaussian_nll_full_homoscedastic",
         lambda F, x, t, v, **kw: F.gaussian_nll_loss(x, t, v, full=True, **kw),
         [Fl(3, 4), Fl(3, 4), Pos(3, 1)]),
    Case("gaussian_nll_var_short",
         lambda F, x, t, v, **kw: F.gaussian_nll_loss(x, t, v, eps=1e-3, **kw),
         [Fl(2, 3, 4), Fl(2, 3, 4), Pos(2, 3)]),
    # Variances below eps are clamped, but their gradient passes unclamped as in PyTorch.
    Case("gaussian_nll_clamped_var",
         lambda F, x, t, v, **kw: F.gaussian_nll_loss(x, t, v, eps=0.3, **kw),
         [Fl(3, 4), Fl(3, 4), Pos(3, 4, low=0.1, high=0.6)]),
    Case("multi_margin", lambda F, x, y, **kw: F.multi_margin_loss(x, y, **kw),
         [Fl(5, 4), Int(4, 5)], f32=True),
    Case("multi_margin_p2_weight",
         lambda F, x, y, w, **kw: F.multi_margin_loss(x, y, p=2, margin=0.7, weight=w, **kw),
         [Fl(6, 4), Int(4, 6), Pos(4)], grad=[0]),
    Case("multi_margin_1d", lambda F, x, y, **kw: F.multi_margin_loss(x, y, margin=1.5, **kw),
         [Fl(5), Int(5, 1)]),
    Case("multi_margin_1d_0d_target",
         lambda F, x, y, **kw: F.multi_margin_loss(x, y.reshape(()), **kw), [Fl(5), Int(5, 1)]),
    Case("multilabel_margin", lambda F, x, y, **kw: F.multilabel_margin_loss(x, y, **kw),
         [Fl(6, 5, scale=2), Labels(6, 5)], f32=True),
    Case("multilabel_margin_1d", lambda F, x, y, **kw: F.multilabel_margin_loss(x, y[3], **kw),
         [Fl(5, scale=2), Labels(4, 5)]),
]


def _with_reduction(case, reduction):
    fn = case["fn"]
    return dict(case, id=f"{case['id']}-{reduction}",
                fn=lambda F, *xs: fn(F, *xs, reduction=reduction),
                f32=case["f32"] and reduction == "mean")


def _channel_shuffle_reference(x):
    """torch.channel_shuffle has no derivative in 1.13: its definition, for the gradient."""
    n, c = x.shape[:2]
    return x.reshape(n, 3, c // 3, *x.shape[2:]).transpose(1, 2).reshape(x.shape)


LAYERS = [
    Case("pixel_shuffle", lambda F, x: F.pixel_shuffle(x, 2), [Fl(2, 8, 3, 4)], f32=True),
    Case("pixel_shuffle_unbatched_r3", lambda F, x: F.pixel_shuffle(x, 3), [Fl(9, 2, 3)]),
    Case("pixel_shuffle_5d", lambda F, x: F.pixel_shuffle(x, 2), [Fl(2, 3, 4, 2, 3)]),
    Case("pixel_unshuffle", lambda F, x: F.pixel_unshuffle(x, 2), [Fl(2, 3, 4, 6)], f32=True),
    Case("pixel_unshuffle_unbatched", lambda F, x: F.pixel_unshuffle(x, 3), [Fl(2, 6, 3)]),
    Case("channel_shuffle", lambda F, x: F.channel_shuffle(x, 3), [Fl(2, 6, 3, 4)],
         torch_grad_fn=_channel_shuffle_reference),
    Case("channel_shuffle_3d", lambda F, x: F.channel_shuffle(x, 3), [Fl(2, 9, 5)],
         torch_grad_fn=_channel_shuffle_reference),
    Case("hardshrink", lambda F, x: F.hardshrink(x), [Fl(4, 5)], f32=True),
    Case("hardshrink_lambd", lambda F, x: F.hardshrink(x, 1.2), [Fl(4, 5, scale=2)]),
    Case("tensor_hardshrink", lambda F, x: x.hardshrink(0.3), [Fl(4, 5)]),
    Case("softshrink", lambda F, x: F.softshrink(x), [Fl(4, 5)], f32=True),
    Case("softshrink_lambd", lambda F, x: F.softshrink(x, 1.2), [Fl(4, 5, scale=2)]),
    Case("unfold", lambda F, x: F.unfold(x, 2), [Fl(2, 3, 4, 5)], f32=True),
    Case("unfold_all_args",
         lambda F, x: F.unfold(x, (2, 3), dilation=(1, 2), padding=(1, 2), stride=(2, 1)),
         [Fl(2, 3, 5, 6)]),
    Case("unfold_unbatched", lambda F, x: F.unfold(x, 3, padding=1, stride=2), [Fl(2, 5, 4)]),
    Case("fold", lambda F, x: F.fold(x, (4, 5), 2), [Fl(2, 12, 12)], f32=True),
    Case("fold_all_args",
         lambda F, x: F.fold(x, (5, 6), (2, 3), dilation=(1, 2), padding=(1, 2), stride=(2, 1)),
         [Fl(2, 18, 18)]),
    Case("fold_unbatched", lambda F, x: F.fold(x, 5, 3, padding=1, stride=2), [Fl(18, 9)]),
    Case("adaptive_max_pool2d", lambda F, x: F.adaptive_max_pool2d(x, (3, 4)),
         [Fl(2, 3, 7, 5)], f32=True),
    Case("adaptive_max_pool2d_indices",
         lambda F, x: F.adaptive_max_pool2d(x, (4, None), return_indices=True),
         [Fl(2, 3, 9, 5)]),
    Case("adaptive_max_pool2d_unbatched_upsampling",
         lambda F, x: F.adaptive_max_pool2d(x, 5, True), [Fl(2, 3, 4)]),
    Case("adaptive_max_pool1d", lambda F, x: F.adaptive_max_pool1d(x, 4, return_indices=True),
         [Fl(2, 3, 7)]),
    Case("adaptive_max_pool1d_unbatched", lambda F, x: F.adaptive_max_pool1d(x, 3), [Fl(3, 8)]),
    Case("local_response_norm", lambda F, x: F.local_response_norm(x, 3, alpha=0.1),
         [Fl(2, 5, 3, 4, scale=2)], f32=True),
    Case("local_response_norm_3d",
         lambda F, x: F.local_response_norm(x, 2, alpha=0.5, beta=0.6, k=2.0), [Fl(2, 5, 6)]),
    Case("local_response_norm_5d", lambda F, x: F.local_response_norm(x, 4, alpha=0.2),
         [Fl(2, 6, 2, 3, 2)]),
    Case("lp_pool2d", lambda F, x: F.lp_pool2d(x, 2, 2), [Fl(2, 3, 4, 6)], f32=True),
    Case("lp_pool2d_p3_stride_ceil",
         lambda F, x: F.lp_pool2d(x, 3.0, (2, 3), stride=(1, 2), ceil_mode=True),
         [Pos(2, 3, 5, 6, low=0.1, high=1.0)]),
    Case("lp_pool1d", lambda F, x: F.lp_pool1d(x, 2.0, 3, stride=2), [Fl(2, 3, 9)]),
    Case("lp_pool1d_p1_5", lambda F, x: F.lp_pool1d(x, 1.5, 2),
         [Pos(2, 3, 8, low=0.1, high=1.0)]),
    Case("rrelu_eval", lambda F, x: F.rrelu(x, 0.1, 0.3), [Fl(4, 5)]),
    Case("alpha_dropout_eval", lambda F, x: F.alpha_dropout(x, 0.3) * 1.0, [Fl(4, 5)]),
]

CASES = [_with_reduction(c, r) for c in LOSSES for r in ("none", "mean", "sum")] + LAYERS
PARAMS = [pytest.param(c, "float64", id=c["id"]) for c in CASES] + \
    [pytest.param(c, "float32", id=c["id"] + "-float32") for c in CASES if c["f32"]]


@phases()
@pytest.mark.parametrize("case,dtype", PARAMS)
def test_functional(case, dtype, grad):
    rng = np.random.default_rng(0)
    inputs = [m(rng, dtype) for m in case["makers"]]
    fn = case["fn"]
    t_fn = case["torch_grad_fn"] if grad and case["torch_grad_fn"] else (lambda *xs: fn(TF, *xs))
    rtol = case["rtol"] if dtype == "float64" else None
    check_function(t_fn, lambda *xs: fn(F, *xs), inputs, dtype, grad=grad,
                   grad_inputs=case["grad"], rtol=rtol)


def test_channel_shuffle_reference_is_torch():
    x = torch.tensor(rand(np.random.default_rng(0), 2, 6, 3, 4))
    assert torch.equal(_channel_shuffle_reference(x), TF.channel_shuffle(x, 3))


EMPTY = [
    ("adaptive_max_pool2d_zero_rows", lambda F, L: F.adaptive_max_pool2d(L.ones(2, 3, 7, 5), (0, 2),
                                                                         True)),
    ("unfold_empty_batch", lambda F, L: F.unfold(L.ones(0, 2, 5, 5), 2)),
    ("fold_empty_batch", lambda F, L: F.fold(L.ones(0, 8, 16), 5, 2)),
    ("local_response_norm_empty", lambda F, L: F.local_response_norm(L.ones(2, 0, 3), 2)),
]


@pytest.mark.parametrize("case", EMPTY, ids=[c[0] for c in EMPTY])
def test_empty_shapes(case):
    t_out, x_out = case[1](TF, torch), case[1](F, terra)
    for t, x in zip(t_out if isinstance(t_out, tuple) else [t_out],
                    x_out if isinstance(x_out, tuple) else [x_out]):
        assert tuple(x.shape) == tuple(t.shape)


LEGACY_LOSSES = [
    ("margin_ranking_loss", [Fl(6), Fl(6), Sign(6)]),
    ("hinge_embedding_loss", [Fl(3, 4), Sign(3, 4)]),
    ("soft_margin_loss", [Fl(3, 4), Sign(3, 4)]),
    ("multilabel_soft_margin_loss", [Fl(3, 4), Pos(3, 4, low=0.0, high=1.0)]),
    ("cosine_embedding_loss", [Fl(5, 3), Fl(5, 3), Sign(5)]),
    ("triplet_margin_loss", [Fl(5, 3), Fl(5, 3), Fl(5, 3)]),
    ("poisson_nll_loss", [Fl(3, 4), Pos(3, 4)]),
    ("multi_margin_loss", [Fl(5, 4), Int(4, 5)]),
    ("multilabel_margin_loss", [Fl(4, 5), Labels(4, 5)]),
]


@pytest.mark.parametrize("name,makers", LEGACY_LOSSES, ids=[c[0] for c in LEGACY_LOSSES])
def test_legacy_reduction_arguments(name, makers):
    rng = np.random.default_rng(0)
    inputs = [m(rng, "float64") for m in makers]
    for kw in [{"size_average": False}, {"reduce": False}, {"size_average": True},
               {"size_average": False, "reduce": True}]:
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            out = getattr(F, name)(*[terra.tensor(a) for a in inputs], **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = getattr(TF, name)(*[torch.tensor(a) for a in inputs], **kw)
        close(out, expected, "float64", f"{name} {kw}")


# ---------------------------------------------------------------------------------------------
# Errors: (id, call(F, lib), exception type, message regex), raised alike by both libraries.


def _t(lib, *shape, dtype=None):
    return lib.ones(*shape) if dtype is None else lib.ones(*shape, dtype=dtype)


ERRORS = [
    ("margin_ranking_dims", lambda F, L: F.margin_ranking_loss(_t(L, 3, 4), _t(L, 4), _t(L, 3, 4)),
     RuntimeError, "margin_ranking_loss : All input tensors should have same dimension but got "
     "sizes: input1: "),
    ("aten_reduction", lambda F, L: F.soft_margin_loss(_t(L, 3), _t(L, 3), reduction="avg"),
     ValueError, "avg is not a valid value for reduction"),
    ("triplet_distance_reduction",
     lambda F, L: F.triplet_margin_with_distance_loss(_t(L, 2, 3), _t(L, 2, 3), _t(L, 2, 3),
                                                      reduction="avg"),
     ValueError, "avg is not a valid value for reduction"),
    ("python_reduction", lambda F, L: F.poisson_nll_loss(_t(L, 3), _t(L, 3), reduction="avg"),
     ValueError, "avg is not valid"),
    ("multilabel_soft_margin_reduction",
     lambda F, L: F.multilabel_soft_margin_loss(_t(L, 2, 3), _t(L, 2, 3), reduction="avg"),
     ValueError, "avg is not valid"),
    ("cosine_target_dims",
     lambda F, L: F.cosine_embedding_loss(_t(L, 3, 4), _t(L, 3, 4), _t(L, 3, 4)),
     RuntimeError, "0D or 1D target tensor expected, multi-target not supported"),
    ("cosine_1d_target",
     lambda F, L: F.cosine_embedding_loss(_t(L, 4), _t(L, 4), _t(L, 4)),
     RuntimeError, "1D target tensor expects 2D input tensors, but found inputs with sizes "
     "[4] and [4]."),
    ("cosine_0d_target",
     lambda F, L: F.cosine_embedding_loss(_t(L, 3, 4), _t(L, 3, 4), _t(L, 3)[0]),
     RuntimeError, "0D target tensor expects 1D input tensors, but found inputs with sizes "
     "[3, 4] and [3, 4]."),
    ("triplet_dims", lambda F, L: F.triplet_margin_loss(_t(L, 2, 3), _t(L, 3), _t(L, 2, 3)),
     RuntimeError, "All inputs should have same dimension but got 2D, 1D and 2D inputs."),
    ("gaussian_var_size", lambda F, L: F.gaussian_nll_loss(_t(L, 3, 4), _t(L, 3, 4), _t(L, 2, 4)),
     ValueError, "var is of incorrect size"),
    ("gaussian_var_negative",
     lambda F, L: F.gaussian_nll_loss(_t(L, 3, 4), _t(L, 3, 4), -_t(L, 3, 4)),
     ValueError, "var has negative entry/entries"),
    ("gaussian_reduction",
     lambda F, L: F.gaussian_nll_loss(_t(L, 3), _t(L, 3), _t(L, 3), reduction="avg"),
     ValueError, "avg is not valid"),
    ("multi_margin_p", lambda F, L: F.multi_margin_loss(_t(L, 2, 3), _t(L, 2, dtype=L.int64), p=3),
     ValueError, "only p == 1 and p == 2 supported"),
    ("multi_margin_weight_dims",
     lambda F, L: F.multi_margin_loss(_t(L, 2, 3), _t(L, 2, dtype=L.int64), weight=_t(L, 1, 3)),
     ValueError, "weight must be one-dimensional"),
    ("multi_margin_target_size",
     lambda F, L: F.multi_margin_loss(_t(L, 3, 4), _t(L, 2, dtype=L.int64)),
     RuntimeError, "inconsistent target size, got: [2]"),
    ("multi_margin_input_dims",
     lambda F, L: F.multi_margin_loss(_t(L, 2, 3, 4), _t(L, 2, dtype=L.int64)),
     RuntimeError, "Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
     "[2, 3, 4]"),
    ("multilabel_margin_size",
     lambda F, L: F.multilabel_margin_loss(_t(L, 3, 4), _t(L, 3, 3, dtype=L.int64)),
     RuntimeError, "inconsistent size [3, 3] for argument #2 'target'"),
    ("multilabel_margin_size_1d",
     lambda F, L: F.multilabel_margin_loss(_t(L, 4), _t(L, 3, dtype=L.int64)),
     RuntimeError, "inconsistent size [3] for argument #2 'target'"),
    ("multilabel_margin_range",
     lambda F, L: F.multilabel_margin_loss(_t(L, 2, 3), _t(L, 2, 3, dtype=L.int64) * 3),
     RuntimeError, "argument #2 'target' is out of range"),
    ("pixel_shuffle_dims", lambda F, L: F.pixel_shuffle(_t(L, 8, 3), 2),
     RuntimeError, "pixel_shuffle expects input to have at least 3 dimensions, but got input "
     "with 2 dimension(s)"),
    ("pixel_shuffle_factor", lambda F, L: F.pixel_shuffle(_t(L, 1, 8, 3, 3), 0),
     RuntimeError, "pixel_shuffle expects a positive upscale_factor, but got 0"),
    ("pixel_shuffle_channels", lambda F, L: F.pixel_shuffle(_t(L, 1, 6, 3, 3), 2),
     RuntimeError, "pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
     "square of upscale_factor, but input.size(-3)=6 is not divisible by 4"),
    ("pixel_unshuffle_factor", lambda F, L: F.pixel_unshuffle(_t(L, 1, 2, 4, 4), -1),
     RuntimeError, "pixel_unshuffle expects a positive downscale_factor, but got -1"),
    ("pixel_unshuffle_height", lambda F, L: F.pixel_unshuffle(_t(L, 1, 2, 5, 4), 2),
     RuntimeError, "pixel_unshuffle expects height to be divisible by downscale_factor, but "
     "input.size(-2)=5 is not divisible by 2"),
    ("pixel_unshuffle_width", lambda F, L: F.pixel_unshuffle(_t(L, 1, 2, 4, 5), 2),
     RuntimeError, "pixel_unshuffle expects width to be divisible by downscale_factor, but "
     "input.size(-1)=5 is not divisible by 2"),
    ("channel_shuffle_dims", lambda F, L: F.channel_shuffle(_t(L, 2, 8), 2),
     RuntimeError, "channel_shuffle expects input with > 2 dims, but got input with sizes [2, 8]"),
    ("channel_shuffle_groups", lambda F, L: F.channel_shuffle(_t(L, 2, 8, 3), 0),
     RuntimeError, "Number of groups to divide channels in must be positive. Value of groups:0"),
    ("channel_shuffle_divisible", lambda F, L: F.channel_shuffle(_t(L, 2, 8, 3), 3),
     RuntimeError, "Number of channels must be divisible by groups. Got 8 channels and 3 groups."),
    ("softshrink_lambda", lambda F, L: F.softshrink(_t(L, 3), -0.5),
     RuntimeError, "lambda must be greater or equal to 0, but found to be -0.5."),
    ("unfold_dims", lambda F, L: F.unfold(_t(L, 1, 1, 2, 4, 4), 2),
     RuntimeError, "Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other "
     "non-zero dimensions for input, but got: [1, 1, 2, 4, 4]"),
    ("unfold_kernel", lambda F, L: F.unfold(_t(L, 1, 2, 4, 4), (0, 2)),
     RuntimeError, "kernel size should be greater than zero, but got kernel_height: 0 "
     "kernel_width: 2"),
    ("unfold_stride", lambda F, L: F.unfold(_t(L, 1, 2, 4, 4), 2, stride=0),
     RuntimeError, "stride should be greater than zero, but got stride_height: 0 stride_width: 0"),
    ("unfold_dilation", lambda F, L: F.unfold(_t(L, 1, 2, 4, 4), 2, dilation=(1, 0)),
     RuntimeError, "dilation should be greater than zero, but got dilation_height: 1 "
     "dilation_width: 0"),
    ("unfold_padding", lambda F, L: F.unfold(_t(L, 1, 2, 4, 4), 2, padding=-1),
     RuntimeError, "padding should be non-negative, but got pad_height: -1 pad_width: -1"),
    ("unfold_kernel_length", lambda F, L: F.unfold(_t(L, 1, 2, 4, 4), (2, 2, 2)),
     RuntimeError, "It is expected kernel_size equals to 2, but got size 3"),
    ("unfold_too_small", lambda F, L: F.unfold(_t(L, 1, 2, 5, 5), 6, stride=2),
     RuntimeError, "Given input with spatial size (5, 5), kernel_size=(6, 6), dilation=(1, 1), "
     "padding=(0, 0), calculated shape of the array of sliding blocks as (0, 0), but its "
     "components must be at least one."),
    ("fold_dims", lambda F, L: F.fold(_t(L, 1, 2, 12, 20), (5, 6), 2),
     RuntimeError, "Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size "
     "and non-zero dimensions for input, but got: [1, 2, 12, 20]"),
    ("fold_output_size", lambda F, L: F.fold(_t(L, 12, 20), (5, 6, 1), 2),
     RuntimeError, "It is expected output_size equals to 2, but got size 3"),
    ("fold_channels", lambda F, L: F.fold(_t(L, 2, 13, 20), (5, 6), 2),
     RuntimeError, "Expected size of input's dimension 1 to be divisible by the product of "
     "kernel_size, but got input.size(1)=13 and kernel_size=(2, 2)."),
    ("fold_blocks", lambda F, L: F.fold(_t(L, 12, 21), (5, 6), 2),
     RuntimeError, "Given output_size=(5, 6), kernel_size=(2, 2), dilation=(1, 1), "
     "padding=(0, 0), stride=(1, 1), expected size of input's dimension 2 to match the "
     "calculated number of sliding blocks 4 * 5 = 20, but got input.size(2)=21."),
    ("adaptive_max_pool1d_dims", lambda F, L: F.adaptive_max_pool1d(_t(L, 2, 3, 7, 1), 3),
     RuntimeError, "Expected 2 to 3 dimensions, but got 4-dimensional tensor for argument #1 "
     "'self' (while checking arguments for adaptive_max_pool1d)"),
    ("adaptive_max_pool1d_size", lambda F, L: F.adaptive_max_pool1d(_t(L, 2, 3, 7), (3, 2)),
     RuntimeError, "adaptive_max_pool1d() argument 'output_size' should contain one int (got 2)"),
    ("adaptive_max_pool2d_dims", lambda F, L: F.adaptive_max_pool2d(_t(L, 1, 2, 3, 7, 5), (3, 2)),
     RuntimeError, "adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: [1, 2, 3, 7, 5]"),
    ("adaptive_max_pool2d_2d_input", lambda F, L: F.adaptive_max_pool2d(_t(L, 7, 5), (3, 2)),
     ValueError, "Input dimension should be at least 3"),
    ("local_response_norm_dims", lambda F, L: F.local_response_norm(_t(L, 3, 4), 2),
     ValueError, "Expected 3D or higher dimensionality"),
    ("alpha_dropout_p", lambda F, L: F.alpha_dropout(_t(L, 3), 1.5),
     ValueError, "dropout probability has to be between 0 and 1, but got 1.5"),
    ("feature_alpha_dropout_dims", lambda F, L: F.feature_alpha_dropout(_t(L, 3), 0.5, True),
     RuntimeError, "Feature dropout requires at least 2 dimensions in the input"),
    ("rrelu_bounds", lambda F, L: F.rrelu(_t(L, 3), 0.5, 0.1, training=True),
     RuntimeError, "Lower bound should be less than or equal to the upper bound"),
    ("softmax2d_dims", lambda F, L: _nn(L).Softmax2d()(_t(L, 3)),
     AssertionError, "Softmax2d requires a 3D or 4D tensor as input"),
    ("multi_margin_module_p", lambda F, L: _nn(L).MultiMarginLoss(p=3),
     ValueError, "only p == 1 and p == 2 supported"),
]


def _nn(lib):
    return torch.nn if lib is torch else nn


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(case):
    _, call, exc, message = case
    pattern = re.escape(message)
    with pytest.raises(exc, match=pattern):
        call(TF, torch)
    with pytest.raises(exc, match=pattern):
        call(F, terra)


# ---------------------------------------------------------------------------------------------
# Modules


def _weight(lib, *shape):
    w = np.random.default_rng(5).uniform(0.5, 2.0, size=shape)
    return lib.tensor(w)


# (id, class name, make(lib) -> (args, kwargs), inputs, options for check_module)
MODULES = [
    ("margin_ranking", "MarginRankingLoss", lambda L: ((0.3,), {}),
     [Fl(6), Fl(6), Sign(6)], {}),
    ("hinge_embedding", "HingeEmbeddingLoss", lambda L: ((), {"margin": 0.4, "reduction": "sum"}),
     [Fl(3, 4), Sign(3, 4)], {"grad_inputs": [0]}),
    ("soft_margin", "SoftMarginLoss", lambda L: ((), {"reduction": "none"}),
     [Fl(3, 4), Sign(3, 4)], {"grad_inputs": [0]}),
    ("multilabel_soft_margin_weight", "MultiLabelSoftMarginLoss",
     lambda L: ((), {"weight": _weight(L, 4)}), [Fl(3, 4), Pos(3, 4, low=0.0, high=1.0)], {}),
    ("cosine_embedding", "CosineEmbeddingLoss", lambda L: ((0.2,), {}),
     [Fl(5, 3), Fl(5, 3), Sign(5)], {"grad_inputs": [0, 1]}),
    ("triplet_margin", "TripletMarginLoss", lambda L: ((), {"p": 1.0, "swap": True}),
     [Fl(5, 3), Fl(5, 3), Fl(5, 3)], {}),
    ("triplet_distance", "TripletMarginWithDistanceLoss",
     lambda L: ((), {"margin": 0.5, "reduction": "sum"}), [Fl(5, 3), Fl(5, 3), Fl(5, 3)], {}),
    ("triplet_distance_fn", "TripletMarginWithDistanceLoss",
     lambda L: ((), {"distance_function": _nn(L).PairwiseDistance(p=1.0), "swap": True}),
     [Fl(5, 3), Fl(5, 3), Fl(5, 3)], {}),
    ("poisson_nll", "PoissonNLLLoss", lambda L: ((False, True), {"eps": 1e-3}),
     [Pos(3, 4, low=0.1, high=2.0), Pos(3, 4, low=0.2, high=3.0)], {}),
    ("gaussian_nll", "GaussianNLLLoss", lambda L: ((), {"full": True, "reduction": "none"}),
     [Fl(3, 4), Fl(3, 4), Pos(3, 4)], {}),
    ("multi_margin", "MultiMarginLoss", lambda L: ((2, 0.8), {"weight": _weight(L, 4)}),
     [Fl(5, 4), Int(4, 5)], {"grad_inputs": [0]}),
    ("multilabel_margin", "MultiLabelMarginLoss", lambda L: ((), {}),
     [Fl(4, 5), Labels(4, 5)], {"grad_inputs": [0]}),
    ("pixel_shuffle", "PixelShuffle", lambda L: ((2,), {}), [Fl(2, 8, 2, 3)], {}),
    ("pixel_unshuffle", "PixelUnshuffle", lambda L: ((2,), {}), [Fl(2, 2, 4, 6)], {}),
    ("channel_shuffle", "ChannelShuffle", lambda L: ((2,), {}), [Fl(2, 6, 2, 3)], {"grad": False}),
    ("hardshrink", "Hardshrink", lambda L: ((0.3,), {}), [Fl(3, 5)], {}),
    ("softshrink", "Softshrink", lambda L: ((), {}), [Fl(3, 5)], {}),
    ("softmax2d", "Softmax2d", lambda L: ((), {}), [Fl(2, 3, 4, 5, scale=3)], {}),
    ("softmax2d_unbatched", "Softmax2d", lambda L: ((), {}), [Fl(3, 4, 5, scale=3)], {}),
    ("rrelu_eval", "RReLU", lambda L: ((0.2, 0.4), {}), [Fl(3, 5)], {}),
    ("unfold", "Unfold", lambda L: ((3,), {"padding": 1, "stride": 2}), [Fl(2, 3, 5, 6)], {}),
    ("fold", "Fold", lambda L: (((5, 6), 3), {"padding": 1, "stride": 2}), [Fl(2, 27, 9)], {}),
    ("adaptive_max_pool1d", "AdaptiveMaxPool1d", lambda L: ((3,), {"return_indices": True}),
     [Fl(2, 3, 8)], {}),
    ("adaptive_max_pool2d", "AdaptiveMaxPool2d", lambda L: (((3, None),), {}),
     [Fl(2, 3, 7, 5)], {}),
    ("lp_pool1d", "LPPool1d", lambda L: ((2, 3), {"stride": 2}), [Fl(2, 3, 9)], {}),
    ("lp_pool2d", "LPPool2d", lambda L: ((2, (2, 3)), {"ceil_mode": True}), [Fl(2, 3, 5, 7)], {}),
    ("local_response_norm", "LocalResponseNorm", lambda L: ((3,), {"alpha": 0.2, "k": 2.0}),
     [Fl(2, 5, 4, 3, scale=2)], {}),
    ("alpha_dropout_eval", "AlphaDropout", lambda L: ((0.2,), {}), [Fl(3, 5)],
     {"call": lambda m, x: m(x) * 1.0}),
]


@phases()
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", MODULES, ids=[c[0] for c in MODULES])
def test_module(case, dtype, grad):
    _, name, make, makers, opts = case
    opts = dict(opts)
    if not opts.pop("grad", True) and grad:
        pytest.skip("PyTorch 1.13 has no derivative of this layer")

    def build(lib):
        args, kwargs = make(lib)
        return getattr(_nn(lib), name)(*args, **kwargs)

    rng = np.random.default_rng(0)
    inputs = [m(rng, dtype) for m in makers]
    tm, xm = check_module(lambda: build(torch), lambda: build(terra), inputs, dtype, grad=grad,
                          **opts)
    assert repr(xm) == repr(tm)
    assert list(xm.state_dict()) == list(tm.state_dict())


REPRS = [
    ("MarginRankingLoss", (), {"size_average": False}),
    ("HingeEmbeddingLoss", (0.5,), {"reduce": False}),
    ("SoftMarginLoss", (), {}), ("MultiLabelSoftMarginLoss", (), {}),
    ("CosineEmbeddingLoss", (), {}), ("TripletMarginLoss", (), {}),
    ("TripletMarginWithDistanceLoss", (), {}), ("PoissonNLLLoss", (), {}),
    ("GaussianNLLLoss", (), {}), ("MultiMarginLoss", (), {}), ("MultiLabelMarginLoss", (), {}),
    ("PixelShuffle", (3,), {}), ("PixelUnshuffle", (2,), {}), ("ChannelShuffle", (4,), {}),
    ("Hardshrink", (), {}), ("Softshrink", (0.25,), {}), ("Softmax2d", (), {}),
    ("RReLU", (), {}), ("RReLU", (0.1, 0.3, True), {}),
    ("Unfold", ((2, 3),), {"dilation": 2}), ("Fold", ((4, 5), 2), {"stride": (1, 2)}),
    ("AdaptiveMaxPool1d", (3,), {"return_indices": True}), ("AdaptiveMaxPool2d", ((3, None),), {}),
    ("LPPool1d", (1.5, 3, 2), {}), ("LPPool2d", (2, 3), {"ceil_mode": True}),
    ("LocalResponseNorm", (3,), {}), ("LocalResponseNorm", (2, 1e-3, 0.5, 2), {}),
    ("AlphaDropout", (0.2,), {}), ("FeatureAlphaDropout", (0.3, True), {}),
]


@pytest.mark.parametrize("name,args,kwargs", REPRS, ids=[r[0] for r in REPRS])
def test_module_repr_and_reduction(name, args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, x = getattr(torch.nn, name)(*args, **kwargs), getattr(nn, name)(*args, **kwargs)
    assert repr(x) == repr(t)
    assert getattr(x, "reduction", None) == getattr(t, "reduction", None)


# ---------------------------------------------------------------------------------------------
# In-place activations


# PyTorch computes celu's 1/alpha in float32 even for float64 tensors: its gradient is
# compared at that precision.
INPLACE = [
    ("elu_", (0.7,), None), ("leaky_relu_", (0.2,), None), ("hardtanh_", (-0.5, 0.6), None),
    ("threshold_", (0.1, -2.0), None), ("celu_", (1.3,), 1e-7), ("selu_", (), None),
    ("rrelu_", (0.1, 0.3), None), ("relu_", (), None),
]


@pytest.mark.parametrize("name,args,rtol", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_activation(name, args, rtol):
    x = rand(np.random.default_rng(0), 4, 5, dtype="float64") * 2
    # Outside autograd the input itself is overwritten and returned.
    t, xt = torch.tensor(x), terra.tensor(x)
    assert getattr(F, name)(xt, *args) is xt
    close(xt, getattr(TF, name)(t, *args), "float64", name)
    # Under autograd (on a non-leaf, as PyTorch requires) values and gradients match.
    t_leaf = torch.tensor(x, requires_grad=True)
    x_leaf = terra.tensor(x, requires_grad=True)
    t_out = getattr(TF, name)(t_leaf * 1.0, *args)
    x_out = getattr(F, name)(x_leaf * 1.0, *args)
    close(x_out, t_out, "float64", name)
    w = np.random.default_rng(1).uniform(0.5, 1.5, size=x.shape)
    (t_out * torch.tensor(w)).sum().backward()
    (x_out * terra.tensor(w)).sum().backward()
    close(x_leaf.grad, t_leaf.grad, "float64", name + " grad", rtol=rtol)


# ---------------------------------------------------------------------------------------------
# Random layers: rrelu and alpha dropout


def test_rrelu_training_draws_slopes_in_range():
    terra.manual_seed(0)
    x = terra.tensor(np.random.default_rng(0).uniform(-2, 2, size=(400, 250)), requires_grad=True)
    out = F.rrelu(x, 0.1, 0.3, training=True)
    xs, ys = to_numpy(x), to_numpy(out)
    neg = xs < 0
    np.testing.assert_array_equal(ys[~neg], xs[~neg])
    slopes = ys[neg] / xs[neg]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert abs(slopes.mean() - 0.2) < 0.002 and abs(slopes.std() - 0.2 / np.sqrt(12)) < 0.002
    assert len(np.unique(slopes)) > 0.9 * slopes.size  # one draw per element
    # The gradient is the slope used (1 for positive inputs).
    out.sum().backward()
    grad = to_numpy(x.grad)
    np.testing.assert_allclose(grad[neg], slopes, rtol=1e-12)
    np.testing.assert_array_equal(grad[~neg], 1.0)


def test_rrelu_module_train_and_eval():
    terra.manual_seed(0)
    x = terra.tensor(rand(np.random.default_rng(0), 50, 40, dtype="float64"))
    m = nn.RReLU(0.1, 0.5)
    slopes = (to_numpy(m(x)) / to_numpy(x))[to_numpy(x) < 0]
    assert slopes.std() > 0.05
    m.eval()
    close(m(x), TF.rrelu(torch.tensor(to_numpy(x)), 0.1, 0.5), "float64", "eval")
    # In place in training, outside autograd.
    y = x.clone()
    assert F.rrelu_(y, training=True) is y and (to_numpy(y) != to_numpy(x)).any()


ALPHA = 1.7580993408473766


def test_alpha_dropout_keeps_selu_statistics():
    terra.manual_seed(0)
    x = terra.tensor(np.random.default_rng(0).standard_normal((500, 400)), requires_grad=True)
    p = 0.2
    out = F.alpha_dropout(x, p, training=True)
    ys, xs = to_numpy(out), to_numpy(x)
    a = 1.0 / np.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    dropped = np.isclose(ys, -ALPHA * a * (1 - p), rtol=0, atol=1e-12)
    assert abs(dropped.mean() - p) < 0.005
    np.testing.assert_allclose(ys[~dropped], xs[~dropped] * a + ALPHA * a * p, rtol=1e-12)
    # Zero mean and unit variance in, zero mean and unit variance out.
    assert abs(ys.mean()) < 0.01 and abs(ys.std() - 1.0) < 0.01
    out.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), np.where(dropped, 0.0, a), rtol=1e-12)


def test_alpha_dropout_eval_and_edge_probabilities():
    x = terra.tensor(rand(np.random.default_rng(0), 30, 20))
    assert F.alpha_dropout(x, 0.5) is x  # training defaults to False
    assert F.alpha_dropout(x, 0.0, training=True) is x
    assert not to_numpy(F.alpha_dropout(x, 1.0, training=True)).any()
    m = nn.AlphaDropout(0.5)
    assert m.eval()(x) is x
    y = x.clone()
    assert F.alpha_dropout(y, 0.5, training=True, inplace=True) is y
    assert (to_numpy(y) != to_numpy(x)).any()


def test_feature_alpha_dropout_drops_whole_channels():
    terra.manual_seed(0)
    x = terra.tensor(rand(np.random.default_rng(0), 60, 50, 3, 4)) + 3.0
    ys = to_numpy(nn.FeatureAlphaDropout(0.3).train()(x)).reshape(60, 50, -1)
    a = 1.0 / np.sqrt((ALPHA ** 2 * 0.3 + 1) * 0.7)
    dropped = np.isclose(ys, -ALPHA * a * 0.7, rtol=0, atol=1e-5)
    assert (dropped.all(axis=2) | ~dropped.any(axis=2)).all()
    assert abs(dropped[:, :, 0].mean() - 0.3) < 0.03
