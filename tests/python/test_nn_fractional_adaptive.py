"""F.fractional_max_pool2d/3d (and the layers) and nn.AdaptiveLogSoftmaxWithLoss against
PyTorch 1.13: with the same _random_samples the pooled values and indices are PyTorch's exactly
(float32 window placement included) and so are the gradients; without them the samples come
from terra's random stream; the adaptive softmax's output, loss, log_prob, predict and
gradients of inputs and parameters given PyTorch's weights; the errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import terra
import terra.nn as nn
import terra.nn.functional as F
from nn_parity import assert_same_error, check_module, rand
from parity import copy_state, to_numpy

RNG = np.random.default_rng(99)

# (input shape, kernel_size, output_size, output_ratio)
POOL2D = [((2, 3, 11, 13), (2, 3), (5, 4), None), ((3, 10, 9), 3, 4, None),
          ((2, 2, 8, 9), 2, None, 0.5), ((1, 2, 7, 7), (3, 2), None, (0.6, 0.4)),
          ((1, 1, 5, 6), 2, (1, 5), None)]
POOL3D = [((2, 2, 7, 8, 9), (2, 3, 2), (3, 4, 5), None), ((2, 6, 7, 9), 2, (3, 3, 4), None),
          ((1, 2, 6, 6, 8), 2, None, 0.5)]
CASES = [(2, *c) for c in POOL2D] + [(3, *c) for c in POOL3D]


def _samples(shape, nd, dtype):
    n_batch = 1 if len(shape) == nd + 1 else shape[0]
    return RNG.uniform(size=(n_batch, shape[-nd - 1], nd)).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("nd,shape,kernel,out,ratio", CASES, ids=str)
def test_fractional_max_pool_matches_torch(nd, shape, kernel, out, ratio, dtype):
    x = rand(RNG, *shape, dtype=dtype, low=-3, high=3)
    s = _samples(shape, nd, dtype)
    t_x = torch.tensor(x, requires_grad=True)
    x_x = terra.tensor(x).requires_grad_(True)
    t_out, t_idx = getattr(TF, f"fractional_max_pool{nd}d")(
        t_x, kernel, out, ratio, return_indices=True, _random_samples=torch.tensor(s))
    x_out, x_idx = getattr(F, f"fractional_max_pool{nd}d_with_indices")(
        x_x, kernel, out, ratio, _random_samples=terra.tensor(s))
    np.testing.assert_array_equal(to_numpy(x_out), to_numpy(t_out))
    np.testing.assert_array_equal(to_numpy(x_idx), to_numpy(t_idx))
    w = RNG.uniform(0.5, 1.5, size=tuple(t_out.shape)).astype(dtype)
    (t_out * torch.tensor(w)).sum().backward()
    (x_out * terra.tensor(w)).sum().backward()
    np.testing.assert_array_equal(to_numpy(x_x.grad), to_numpy(t_x.grad))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fractional_window_placement_many_planes(dtype):
    # Many samples and sizes where (i + u) * alpha falls near integers: the float32 rounding
    # of PyTorch's kernel decides the windows.
    for in_size, out_size, k in [(50, 17, 3), (97, 31, 2), (64, 21, 4)]:
        x = rand(RNG, 2, 32, in_size, in_size, dtype=dtype)
        s = RNG.uniform(size=(2, 32, 2)).astype(dtype)
        t_out, t_idx = TF.fractional_max_pool2d(torch.tensor(x), k, out_size,
                                                return_indices=True,
                                                _random_samples=torch.tensor(s))
        x_out, x_idx = F.fractional_max_pool2d(terra.tensor(x), k, out_size,
                                               return_indices=True,
                                               _random_samples=terra.tensor(s))
        np.testing.assert_array_equal(to_numpy(x_idx), to_numpy(t_idx))
        np.testing.assert_array_equal(to_numpy(x_out), to_numpy(t_out))


@pytest.mark.parametrize("nd", [2, 3])
def test_fractional_max_pool_draws_from_terra_stream(nd):
    shape = (2, 3) + (9,) * nd
    x = terra.tensor(rand(RNG, *shape, dtype="float64"))
    pool = getattr(F, f"fractional_max_pool{nd}d")
    terra.manual_seed(7)
    drawn, drawn_idx = pool(x, 2, output_size=4, return_indices=True)
    terra.manual_seed(7)
    samples = terra.rand(2, 3, nd, dtype=terra.float64)
    given = pool(x, 2, output_size=4, _random_samples=samples)
    np.testing.assert_array_equal(drawn.numpy(), given.numpy())
    flat = x.numpy().reshape(2, 3, -1)
    np.testing.assert_array_equal(
        np.take_along_axis(flat, drawn_idx.numpy().reshape(2, 3, -1), 2).reshape(drawn.shape),
        drawn.numpy())


@pytest.mark.parametrize("nd,shape,kernel,out,ratio", CASES[:2] + CASES[-2:], ids=str)
def test_fractional_max_pool_modules(nd, shape, kernel, out, ratio):
    s = torch.tensor(_samples(shape, nd, "float64"))
    t_cls = getattr(torch.nn, f"FractionalMaxPool{nd}d")
    x_cls = getattr(nn, f"FractionalMaxPool{nd}d")
    for return_indices in (False, True):
        tm, xm = check_module(
            lambda: t_cls(kernel, out, ratio, return_indices, _random_samples=s.clone()),
            lambda: x_cls(kernel, out, ratio, return_indices,
                          _random_samples=terra.zeros(*s.shape, dtype=terra.float64)),
            [rand(RNG, *shape, dtype="float64")], "float64")
        assert list(xm.state_dict()) == list(tm.state_dict()) == ["_random_samples"]
        assert (xm.kernel_size, xm.output_size, xm.output_ratio) == \
            (tm.kernel_size, tm.output_size, tm.output_ratio)


@pytest.mark.parametrize("nd", [2, 3])
def test_fractional_module_argument_errors(nd):
    t_cls = getattr(torch.nn, f"FractionalMaxPool{nd}d")
    x_cls = getattr(nn, f"FractionalMaxPool{nd}d")
    for kwargs in [{}, {"output_size": 2, "output_ratio": 0.5}, {"output_ratio": 1.5}]:
        assert_same_error(lambda: t_cls(2, **kwargs), lambda: x_cls(2, **kwargs),
                          same_message=True)


POOL_ERRORS = [
    (2, (2, 3, 7, 8), dict(kernel_size=(2, 2, 2), output_size=3)),
    (2, (2, 3, 7, 8), dict(kernel_size=2, output_size=(3, 3, 3))),
    (2, (2, 3, 7, 8), dict(kernel_size=5, output_size=5)),
    (2, (2, 3, 7, 8), dict(kernel_size=(2, 8), output_size=3)),
    (2, (2, 3, 7, 8), dict(kernel_size=2)),
    (2, (2, 0, 4, 4), dict(kernel_size=2, output_size=2)),
    (2, (2, 3, 4, 4, 4), dict(kernel_size=2, output_size=2)),
    (3, (2, 3, 5, 6, 7), dict(kernel_size=(5, 2, 2), output_size=2)),
    (3, (2, 3, 5, 6, 7), dict(kernel_size=(2, 6, 2), output_size=2)),
    (3, (2, 3, 5, 6, 7), dict(kernel_size=(2, 2, 7), output_size=2)),
    (3, (2, 3, 5, 6, 7), dict(kernel_size=(2, 2, 2, 2), output_size=2)),
    (3, (2, 3, 5, 6, 7), dict(kernel_size=2, output_size=(2, 2))),
    (3, (2, 3, 4, 4, 4, 4), dict(kernel_size=2, output_size=2)),
]


@pytest.mark.parametrize("nd,shape,kwargs", POOL_ERRORS, ids=str)
def test_fractional_max_pool_errors(nd, shape, kwargs):
    t_pool = getattr(TF, f"fractional_max_pool{nd}d")
    x_pool = getattr(F, f"fractional_max_pool{nd}d")
    assert_same_error(lambda: t_pool(torch.ones(shape), **kwargs),
                      lambda: x_pool(terra.ones(*shape), **kwargs), same_message=True)


# ---- AdaptiveLogSoftmaxWithLoss -------------------------------------------------------------

ASM_CONFIGS = [dict(in_features=16, n_classes=10, cutoffs=[3, 6]),
               dict(in_features=16, n_classes=20, cutoffs=[2, 5, 11], div_value=2.0,
                    head_bias=True),
               dict(in_features=6, n_classes=5, cutoffs=[4], div_value=1.0)]


def _targets(n_classes, batch, skip_cluster=None):
    t = RNG.integers(0, n_classes, size=batch)
    t[:n_classes] = np.arange(min(batch, n_classes))  # every class present
    if skip_cluster is not None:
        t = t[(t < skip_cluster[0]) | (t >= skip_cluster[1])]
    return t


@pytest.mark.parametrize("config", ASM_CONFIGS, ids=str)
def test_adaptive_log_softmax_forward_matches_torch(config):
    n = config["n_classes"]
    for targets in (_targets(n, 25), _targets(n, 25, skip_cluster=(config["cutoffs"][0], n))):
        tm, xm = check_module(lambda: torch.nn.AdaptiveLogSoftmaxWithLoss(**config),
                              lambda: nn.AdaptiveLogSoftmaxWithLoss(**config),
                              [rand(RNG, len(targets), config["in_features"], dtype="float64"),
                               targets], "float64")
        assert list(xm.state_dict()) == list(tm.state_dict())
    # One unbatched example (0-D target), in a tail cluster.
    check_module(lambda: torch.nn.AdaptiveLogSoftmaxWithLoss(**config),
                 lambda: nn.AdaptiveLogSoftmaxWithLoss(**config),
                 [rand(RNG, config["in_features"], dtype="float64"), np.array(n - 1)], "float64")


def test_adaptive_log_softmax_output_is_named():
    m = nn.AdaptiveLogSoftmaxWithLoss(4, 6, [2])
    result = m(terra.randn(3, 4), terra.tensor([0, 3, 5]))
    assert result._fields == ("output", "loss") and result.output.shape == (3,)
    assert result.loss.dim() == 0


@pytest.mark.parametrize("config", ASM_CONFIGS, ids=str)
def test_adaptive_log_prob_and_predict_match_torch(config):
    x = rand(RNG, 30, config["in_features"], dtype="float64", low=-3, high=3)
    tm, xm = check_module(lambda: torch.nn.AdaptiveLogSoftmaxWithLoss(**config),
                          lambda: nn.AdaptiveLogSoftmaxWithLoss(**config), [x], "float64",
                          call=lambda m, inp: m.log_prob(inp))
    # predict's three paths: every row in the shortlist, none, some.
    shortlist = config["cutoffs"][0]
    for prefer_shortlist in (True, False, None):
        inp = x
        if prefer_shortlist is not None:
            sign = 1.0 if prefer_shortlist else -1.0
            with torch.no_grad():
                tm.head.weight[:shortlist] = sign
                tm.head.weight[shortlist:] = -sign
            copy_state(tm, xm)
            inp = np.abs(x)
        expected = tm.predict(torch.tensor(inp))
        np.testing.assert_array_equal(xm.predict(terra.tensor(inp)).numpy(), expected.numpy())


ASM_ERRORS = [([3, 3], None), ([0, 4], None), ([4, 9], None), ([5, 3], None), ([2.5], None),
              ([3], ((4, 8), (4,), "oob")), ([3], ((4, 8), (5,), None)),
              ([3], ((4, 8), (4, 2), None)), ([3], ((8,), (4,), None)), ([3], ((4, 8), (), None))]


@pytest.mark.parametrize("cutoffs,call", ASM_ERRORS, ids=str)
def test_adaptive_log_softmax_errors(cutoffs, call):
    if call is None:
        assert_same_error(lambda: torch.nn.AdaptiveLogSoftmaxWithLoss(8, 9, cutoffs),
                          lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 9, cutoffs),
                          same_message=True)
        return
    x_shape, t_shape, kind = call
    target = np.full(t_shape, 9 if kind == "oob" else 1, dtype=np.int64)
    tm = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 9, cutoffs)
    xm = nn.AdaptiveLogSoftmaxWithLoss(8, 9, cutoffs)
    t_msg, x_msg = assert_same_error(
        lambda: tm(torch.ones(x_shape), torch.tensor(target)),
        lambda: xm(terra.ones(*x_shape), terra.tensor(target)))
    # PyTorch passes some messages as (text, size) tuples; the text must be the same.
    assert x_msg.startswith(t_msg.lstrip("('").split("'")[0].split("torch.Size")[0].rstrip())
