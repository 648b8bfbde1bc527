"""terra.distributions against torch.distributions (PyTorch 1.13): log_prob, entropy, mean,
variance, probs/logits and the shapes of samples agree; samples drawn from terra's RNG have the
right support and empirical mean/variance; rsample carries gradients; validation raises as in
PyTorch."""
import math

import numpy as np
import pytest

import terra
import torch
import terra.distributions as D
import torch.distributions as TD

from parity import assert_close, to_numpy, to_terra

TOL = {'float32': dict(rtol=1e-5, atol=1e-6), 'float64': dict(rtol=1e-10, atol=1e-12)}


def pair(arr):
    return to_terra(arr), torch.tensor(arr)


def check(actual, expected, dtype, what):
    assert tuple(actual.shape) == tuple(expected.shape), what
    assert_close(actual, expected, what=what, **TOL[dtype])


@pytest.mark.parametrize('dtype', ['float32', 'float64'])
def test_normal(dtype):
    rng = np.random.default_rng(0)
    loc, t_loc = pair(rng.normal(size=(3, 4)).astype(dtype))
    scale, t_scale = pair(rng.uniform(0.3, 2.0, size=(4,)).astype(dtype))
    value, t_value = pair(rng.normal(size=(2, 3, 4)).astype(dtype))
    d, td = D.Normal(loc, scale), TD.Normal(t_loc, t_scale)
    assert tuple(d.batch_shape) == (3, 4) and tuple(d.event_shape) == ()
    check(d.log_prob(value), td.log_prob(t_value), dtype, 'log_prob')
    check(d.entropy(), td.entropy(), dtype, 'entropy')
    check(d.mean, td.mean, dtype, 'mean')
    check(d.variance, td.variance, dtype, 'variance')
    check(d.stddev, td.stddev, dtype, 'stddev')
    check(d.cdf(value), td.cdf(t_value), dtype, 'cdf')
    assert tuple(d.sample().shape) == (3, 4)
    assert tuple(d.sample((5, 2)).shape) == (5, 2, 3, 4)
    assert d.sample().dtype == getattr(terra, dtype)


def test_normal_scalar_parameters():
    d, td = D.Normal(0.5, 2.0), TD.Normal(0.5, 2.0)
    assert tuple(d.batch_shape) == () and d.loc.dtype == terra.float32
    v, tv = pair(np.array([0.1, -3.0, 2.5], np.float32))
    check(d.log_prob(v), td.log_prob(tv), 'float32', 'log_prob')
    assert tuple(d.sample((7,)).shape) == (7,)


def test_normal_sample_moments_and_rsample_gradient():
    terra.manual_seed(0)
    loc = to_terra(np.array([1.5, -2.0], np.float64), requires_grad=True)
    scale = to_terra(np.array([0.5, 3.0], np.float64), requires_grad=True)
    d = D.Normal(loc, scale)
    s = to_numpy(d.sample((20000,)))
    assert s.shape == (20000, 2)
    assert (np.abs(s.mean(0) - [1.5, -2.0]) < 4 * np.array([0.5, 3.0]) / math.sqrt(20000)).all()
    np.testing.assert_allclose(s.var(0), [0.25, 9.0], rtol=0.05)
    assert not d.sample().requires_grad
    r = d.rsample((100,))
    assert r.requires_grad
    r.sum().backward()
    np.testing.assert_allclose(to_numpy(loc.grad), [100.0, 100.0])
    # d/dscale sum(loc + eps * scale) = sum(eps) = sum((r - loc) / scale)
    eps = (to_numpy(r.detach()) - to_numpy(loc.detach())) / to_numpy(scale.detach())
    np.testing.assert_allclose(to_numpy(scale.grad), eps.sum(0), rtol=1e-10)


@pytest.mark.parametrize('dtype', ['float32', 'float64'])
@pytest.mark.parametrize('param', ['probs', 'logits'])
def test_bernoulli(param, dtype):
    rng = np.random.default_rng(1)
    if param == 'probs':
        arr = rng.uniform(0.05, 0.95, size=(2, 5)).astype(dtype)
    else:
        arr = rng.normal(scale=2.0, size=(2, 5)).astype(dtype)
    p, tp = pair(arr)
    d, td = D.Bernoulli(**{param: p}), TD.Bernoulli(**{param: tp})
    value, t_value = pair(rng.integers(0, 2, size=(3, 2, 5)).astype(dtype))
    check(d.log_prob(value), td.log_prob(t_value), dtype, 'log_prob')
    check(d.entropy(), td.entropy(), dtype, 'entropy')
    check(d.mean, td.mean, dtype, 'mean')
    check(d.variance, td.variance, dtype, 'variance')
    check(d.probs, td.probs, dtype, 'probs')
    check(d.logits, td.logits, dtype, 'logits')
    s = d.sample((4,))
    assert tuple(s.shape) == (4, 2, 5) and s.dtype == getattr(terra, dtype)
    assert set(np.unique(to_numpy(s))) <= {0.0, 1.0}


def test_bernoulli_sample_frequency():
    terra.manual_seed(1)
    probs = np.array([0.1, 0.5, 0.85])
    s = to_numpy(D.Bernoulli(probs=to_terra(probs)).sample((20000,)))
    np.testing.assert_allclose(s.mean(0), probs, atol=4 * 0.5 / math.sqrt(20000))
    np.testing.assert_allclose(s.var(0), probs * (1 - probs), atol=0.01)


@pytest.mark.parametrize('dtype', ['float32', 'float64'])
@pytest.mark.parametrize('param', ['probs', 'logits'])
def test_categorical(param, dtype):
    rng = np.random.default_rng(2)
    if param == 'probs':
        arr = rng.uniform(0.1, 1.0, size=(3, 4)).astype(dtype)   # unnormalized, as torch allows
    else:
        arr = rng.normal(size=(3, 4)).astype(dtype)
    p, tp = pair(arr)
    d, td = D.Categorical(**{param: p}), TD.Categorical(**{param: tp})
    assert tuple(d.batch_shape) == (3,) and tuple(d.event_shape) == ()
    value, t_value = pair(rng.integers(0, 4, size=(5, 3)).astype(np.int64))
    check(d.log_prob(value), td.log_prob(t_value), dtype, 'log_prob')
    check(d.entropy(), td.entropy(), dtype, 'entropy')
    check(d.probs, td.probs, dtype, 'probs')
    check(d.logits, td.logits, dtype, 'logits')
    assert np.isnan(to_numpy(d.mean)).all() and tuple(d.mean.shape) == (3,)
    assert np.isnan(to_numpy(d.variance)).all()
    s = d.sample()
    assert tuple(s.shape) == (3,) and s.dtype == terra.int64
    s = d.sample((6, 2))
    assert tuple(s.shape) == (6, 2, 3)
    assert set(np.unique(to_numpy(s))) <= {0, 1, 2, 3}


def test_categorical_sample_frequency():
    terra.manual_seed(2)
    probs = np.array([[0.1, 0.0, 0.6, 0.3], [0.25, 0.25, 0.25, 0.25]])
    s = to_numpy(D.Categorical(probs=to_terra(probs)).sample((20000,)))
    for row in range(2):
        freq = np.bincount(s[:, row], minlength=4) / 20000
        np.testing.assert_allclose(freq, probs[row], atol=0.015)
        mean = (s[:, row]).mean()
        expected_mean = (np.arange(4) * probs[row]).sum()
        expected_var = (np.arange(4) ** 2 * probs[row]).sum() - expected_mean ** 2
        assert abs(mean - expected_mean) < 4 * math.sqrt(expected_var / 20000)
        assert abs(s[:, row].var() - expected_var) < 0.05 * expected_var
    assert (s[:, 0] != 1).all()


def test_categorical_one_dimensional_and_log_prob_broadcast():
    logits, t_logits = pair(np.array([0.3, -1.2, 2.0], np.float32))
    d, td = D.Categorical(logits=logits), TD.Categorical(logits=t_logits)
    assert tuple(d.batch_shape) == ()
    v, tv = pair(np.array([[0, 2], [1, 1]], np.int64))
    check(d.log_prob(v), td.log_prob(tv), 'float32', 'log_prob')
    assert tuple(d.sample((4,)).shape) == (4,)
    check(d.enumerate_support(), td.enumerate_support(), 'float32', 'support')


def test_entropy_through_autograd():
    """The entropy gradient (as in a policy-gradient loss) agrees with torch's."""
    arr = np.random.default_rng(3).normal(size=(2, 5))
    grads = []
    for lib, dist_mod, conv in ((torch, TD, torch.tensor), (terra, D, to_terra)):
        logits = conv(arr.copy())
        logits.requires_grad_(True)
        d = dist_mod.Categorical(logits=logits)
        value = conv(np.array([1, 4], np.int64))
        (d.entropy().sum() - d.log_prob(value).sum()).backward()
        grads.append(logits.grad)
    assert_close(grads[1], grads[0], **TOL['float64'])


def test_validation_errors():
    with pytest.raises(ValueError, match='Expected parameter scale'):
        D.Normal(to_terra(np.zeros(2)), to_terra(np.array([1.0, -1.0])))
    with pytest.raises(ValueError, match='Expected parameter probs'):
        D.Bernoulli(probs=to_terra(np.array([0.5, 1.5])))
    with pytest.raises(ValueError, match='Either `probs` or `logits` must be specified'):
        D.Categorical()
    with pytest.raises(ValueError, match='at least one-dimensional'):
        D.Categorical(probs=to_terra(np.array(1.0)))
    with pytest.raises(ValueError, match='within the support'):
        D.Bernoulli(probs=to_terra(np.array([0.5]))).log_prob(to_terra(np.array([2.0])))
    d = D.Normal(to_terra(np.zeros(2)), to_terra(np.array([1.0, -1.0])), validate_args=False)
    assert tuple(d.batch_shape) == (2,)


def test_base_class_and_expand():
    assert issubclass(D.Normal, D.Distribution) and D.Normal.has_rsample and not D.Categorical.has_rsample
    d = D.Normal(to_terra(np.array([0.0, 1.0])), 1.0).expand((3, 2))
    assert tuple(d.batch_shape) == (3, 2) and tuple(d.sample().shape) == (3, 2)
    b = D.Bernoulli(logits=to_terra(np.array([0.2]))).expand((4, 1))
    assert tuple(b.sample().shape) == (4, 1)
    c = D.Categorical(probs=to_terra(np.array([0.2, 0.8]))).expand((5,))
    assert tuple(c.sample().shape) == (5,)
    assert repr(D.Normal(0.0, 1.0)).startswith('Normal(loc: ')


# ----- terra.multinomial / Tensor.multinomial (built on the same sampler as Categorical) -----

def test_multinomial_with_replacement_draws_in_proportion_to_the_weights():
    terra.manual_seed(3)
    weights = np.array([[0.5, 0.0, 3.0, 1.5], [2.0, 1.0, 0.0, 1.0]])  # not normalised
    drawn = terra.multinomial(to_terra(weights), 40000, replacement=True)
    expected = torch.multinomial(torch.tensor(weights), 5, replacement=True)
    assert drawn.dtype == terra.int64 and tuple(drawn.shape) == (2, 40000) and expected.shape[0] == 2
    for row in range(2):
        freq = np.bincount(drawn[row].numpy(), minlength=4) / 40000
        np.testing.assert_allclose(freq, weights[row] / weights[row].sum(), atol=0.01)


def test_multinomial_without_replacement_never_repeats_or_draws_a_zero_weight():
    terra.manual_seed(4)
    weights = to_terra(np.array([0.2, 0.0, 0.5, 0.3]))
    first = []
    for _ in range(3000):
        draw = weights.multinomial(3).numpy()
        assert draw.shape == (3,) and len(set(draw)) == 3 and 1 not in draw
        first.append(draw[0])
    # Fewer positive weights than draws: the zero-weight categories come last (PyTorch 1.13 on the
    # CPU does the same rather than raise).
    assert terra.tensor([0.0, 1.0]).multinomial(2).tolist() == [1, 0]
    np.testing.assert_allclose(np.bincount(first, minlength=4) / 3000, [0.2, 0.0, 0.5, 0.3], atol=0.03)


@pytest.mark.parametrize('weights, count, replacement, message', [
    ([-1.0, 2.0], 1, True, 'element < 0'),
    ([float('nan'), 1.0], 1, False, 'nan'),
    ([0.0, 0.0], 1, True, 'sum of probabilities'),
    ([1.0, 2.0], 3, False, 'without replacement'),
    ([1.0, 2.0], 0, True, 'num_samples <= 0'),
])
def test_multinomial_rejects_bad_weights_as_pytorch_does(weights, count, replacement, message):
    with pytest.raises(RuntimeError):
        torch.multinomial(torch.tensor(weights), count, replacement)
    with pytest.raises(RuntimeError, match=message):
        terra.multinomial(terra.tensor(weights), count, replacement)
