"""Tensor.cauchy_, log_normal_ and geometric_: Terra's random stream differs from PyTorch's, so the
draws are checked against each distribution's CDF (a Kolmogorov-Smirnov statistic) and their
parameters; the argument checks and the dtypes are PyTorch 1.13's."""
import math

import numpy as np
import pytest
import torch

import terra

N = 40000
KS_BOUND = 1.63 / math.sqrt(N)  # the 1% critical value of the KS statistic


def ks_statistic(draws, cdf):
    x = np.sort(draws)
    f = cdf(x)
    n = len(x)
    return max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))


@pytest.mark.parametrize("dtype", [terra.float32, terra.float64])
def test_cauchy_draws_follow_the_cauchy_cdf(dtype):
    terra.manual_seed(1)
    t = terra.empty(N, dtype=dtype)
    assert t.cauchy_(0.5, 2.0) is t
    draws = t.numpy().astype(np.float64)
    assert ks_statistic(draws, lambda x: 0.5 + np.arctan((x - 0.5) / 2.0) / math.pi) < KS_BOUND


@pytest.mark.parametrize("dtype", [terra.float32, terra.float64])
def test_log_normal_draws_have_normal_logarithms(dtype):
    terra.manual_seed(2)
    draws = terra.empty(N, dtype=dtype).log_normal_(0.5, 0.3).numpy().astype(np.float64)
    assert (draws > 0).all()
    z = (np.log(draws) - 0.5) / 0.3
    assert ks_statistic(z, lambda v: 0.5 * (1 + np.vectorize(math.erf)(v / math.sqrt(2)))) < KS_BOUND


@pytest.mark.parametrize("dtype", [terra.int64, terra.float32])
def test_geometric_draws_count_trials_to_the_first_success(dtype):
    terra.manual_seed(3)
    p = 0.3
    draws = terra.empty(N, dtype=dtype).geometric_(p).numpy()
    assert draws.min() >= 1 and np.all(draws == np.round(draws))
    for k in range(1, 8):  # P(X <= k) = 1 - (1 - p)^k, within a few standard errors
        expected = 1 - (1 - p) ** k
        assert abs((draws <= k).mean() - expected) < 4 * math.sqrt(expected * (1 - expected) / N)


@pytest.mark.parametrize("call", ["log_normal_(1, -2)", "log_normal_(1, 0)", "geometric_(1.5)", "geometric_(0)",
                                  "geometric_(1)"])
def test_bad_parameters_raise_as_in_pytorch(call):
    with pytest.raises(RuntimeError) as expected:
        eval(f"torch.empty(3).{call}")
    with pytest.raises(RuntimeError) as got:
        eval(f"terra.empty(3).{call}")
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("method", ["cauchy_", "log_normal_"])
def test_integer_tensors_are_refused_as_in_pytorch(method):
    with pytest.raises(RuntimeError) as expected:
        getattr(torch.empty(3, dtype=torch.int64), method)()
    with pytest.raises(RuntimeError) as got:
        getattr(terra.empty(3, dtype=terra.int64), method)()
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("dtype,upper", [(terra.float32, 2 ** 24), (terra.float64, 2 ** 53), (terra.int32, 2 ** 31 - 1),
                                         (terra.int64, 2 ** 63 - 1), (terra.bool, 1)])
def test_random_without_bounds_covers_the_dtypes_exact_range(dtype, upper):
    """PyTorch's ranges: [0, 2^mantissa] for floats, [0, max] for integers."""
    terra.manual_seed(4)
    t = terra.empty(4000, dtype=dtype)
    assert t.random_() is t
    values = t.to(terra.float64).numpy()
    assert values.min() >= 0 and values.max() <= upper and np.all(values == np.round(values))
    assert values.max() > upper / 2  # spread over the range, not stuck near 0
    assert terra.empty(100, dtype=terra.int64).random_(10).max().item() < 10
