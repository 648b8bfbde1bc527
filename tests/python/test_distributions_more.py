"""The distributions, transforms and KL divergences of terra.distributions beyond Normal,
Bernoulli and Categorical, against torch.distributions (PyTorch 1.13) and scipy.stats.

- Values: log_prob, entropy, mean, variance, stddev, mode, cdf and icdf agree with PyTorch's in
  float64 at random valid parameters and values (what PyTorch does not implement raises
  NotImplementedError in both), and so do the gradients of all of them with respect to the
  parameters, and the reprs.
- Sampling (Terra's random streams are not PyTorch's): shapes for sample_shape and batch
  shapes; moments within a few standard errors, and Kolmogorov-Smirnov or chi-square tests against
  scipy.stats at fixed seeds; rsample gradients against finite differences with common random
  numbers, and for Gamma the implicit gradient against torch._standard_gamma_grad on the same
  samples.
- validate_args raises ValueError with PyTorch's message; kl_divergence agrees with PyTorch's for
  every registered pair; a REINFORCE/SAC-style loop gives the same result eagerly and under
  terra.coexec().
"""
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
import scipy.stats as st

import terra
import terra.distributions as D
import torch
import torch.distributions as TD
from terra import nn

from parity import assert_close, to_numpy

B = (3, 4)  # the batch shape of most cases
VALUE_TOL = dict(rtol=1e-10, atol=1e-12)
GRAD_TOL = dict(rtol=1e-8, atol=1e-10)  # trigamma (the gradient of digamma) is good to ~5e-10


def positive(rng, lo, hi, shape=B):
    return rng.uniform(lo, hi, size=shape)


def spd(rng, shape, n):
    a = rng.normal(size=tuple(shape) + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def one_hot(rng, shape, k):
    return np.eye(k)[rng.integers(0, k, size=shape)]


@dataclass
class Spec:
    """A distribution built the same way from terra.distributions or torch.distributions (M) and
    parameters of one name (tensors of M's library); params(rng) draws the parameters as numpy
    arrays, value(rng, params) values in the support. const: parameters not differentiated."""
    name: str
    build: Callable
    params: Callable
    value: Callable
    const: tuple = ()
    batch: tuple = B
    event: tuple = ()
    extra: dict = field(default_factory=dict)


def _tanh_squashed(M, loc, scale):
    T = M.transforms
    return M.TransformedDistribution(M.Normal(loc, scale), [T.AffineTransform(0.2, 1.5), T.TanhTransform()])


SPECS = [
    Spec('Normal', lambda M, loc, scale: M.Normal(loc, scale),
         lambda r: dict(loc=r.normal(size=B), scale=positive(r, 0.3, 2)),
         lambda r, p: r.normal(size=(2,) + B)),
    Spec('Uniform', lambda M, low, high: M.Uniform(low, high),
         lambda r: (lambda low: dict(low=low, high=low + positive(r, 0.5, 2)))(r.normal(size=B)),
         lambda r, p: p['low'] + r.uniform(size=(2,) + B) * (p['high'] - p['low'])),
    Spec('Exponential', lambda M, rate: M.Exponential(rate),
         lambda r: dict(rate=positive(r, 0.3, 3)), lambda r, p: r.exponential(size=(2,) + B)),
    Spec('Laplace', lambda M, loc, scale: M.Laplace(loc, scale),
         lambda r: dict(loc=r.normal(size=B), scale=positive(r, 0.3, 2)),
         lambda r, p: r.laplace(size=(2,) + B)),
    Spec('LogNormal', lambda M, loc, scale: M.LogNormal(loc, scale),
         lambda r: dict(loc=r.normal(size=B) * 0.5, scale=positive(r, 0.3, 1.5)),
         lambda r, p: r.lognormal(size=(2,) + B)),
    Spec('Gamma', lambda M, concentration, rate: M.Gamma(concentration, rate),
         lambda r: dict(concentration=positive(r, 0.3, 5), rate=positive(r, 0.3, 3)),
         lambda r, p: r.gamma(2.0, size=(2,) + B)),
    Spec('Chi2', lambda M, df: M.Chi2(df), lambda r: dict(df=positive(r, 0.5, 8)),
         lambda r, p: r.chisquare(3.0, size=(2,) + B)),
    Spec('Beta', lambda M, c1, c0: M.Beta(c1, c0),
         lambda r: dict(c1=positive(r, 0.3, 4), c0=positive(r, 0.3, 4)),
         lambda r, p: r.beta(2.0, 3.0, size=(2,) + B)),
    Spec('Dirichlet', lambda M, concentration: M.Dirichlet(concentration),
         lambda r: dict(concentration=positive(r, 0.3, 4, (3, 4))),
         lambda r, p: r.dirichlet(np.ones(4), size=(2, 3)), batch=(3,), event=(4,)),
    Spec('Poisson', lambda M, rate: M.Poisson(rate), lambda r: dict(rate=positive(r, 0.1, 20)),
         lambda r, p: r.poisson(5.0, size=(2,) + B).astype(np.float64)),
    Spec('Binomial-probs', lambda M, n, probs: M.Binomial(n, probs=probs),
         lambda r: dict(n=np.full(B, 12.0), probs=positive(r, 0.05, 0.95)),
         lambda r, p: r.integers(0, 13, size=(2,) + B).astype(np.float64), const=('n',)),
    Spec('Binomial-logits', lambda M, n, logits: M.Binomial(n, logits=logits),
         lambda r: dict(n=np.full(B, 7.0), logits=r.normal(size=B) * 2),
         lambda r, p: r.integers(0, 8, size=(2,) + B).astype(np.float64), const=('n',)),
    Spec('Geometric-probs', lambda M, probs: M.Geometric(probs=probs),
         lambda r: dict(probs=positive(r, 0.1, 0.9)),
         lambda r, p: (r.geometric(0.3, size=(2,) + B) - 1).astype(np.float64)),
    Spec('Geometric-logits', lambda M, logits: M.Geometric(logits=logits),
         lambda r: dict(logits=r.normal(size=B)),
         lambda r, p: (r.geometric(0.3, size=(2,) + B) - 1).astype(np.float64)),
    Spec('OneHotCategorical', lambda M, logits: M.OneHotCategorical(logits=logits),
         lambda r: dict(logits=r.normal(size=(3, 5))), lambda r, p: one_hot(r, (2, 3), 5), batch=(3,), event=(5,)),
    Spec('OneHotCategoricalStraightThrough', lambda M, probs: M.OneHotCategoricalStraightThrough(probs=probs),
         lambda r: dict(probs=positive(r, 0.1, 1, (3, 5))), lambda r, p: one_hot(r, (2, 3), 5),
         batch=(3,), event=(5,)),
    Spec('RelaxedBernoulli', lambda M, temperature, probs: M.RelaxedBernoulli(temperature, probs=probs),
         lambda r: dict(temperature=np.array(0.7), probs=positive(r, 0.1, 0.9)),
         lambda r, p: r.uniform(0.05, 0.95, size=(2,) + B)),
    Spec('RelaxedOneHotCategorical',
         lambda M, temperature, logits: M.RelaxedOneHotCategorical(temperature, logits=logits),
         lambda r: dict(temperature=np.array(0.8), logits=r.normal(size=(3, 5))),
         lambda r, p: r.dirichlet(np.ones(5) * 2, size=(2, 3)), batch=(3,), event=(5,)),
    Spec('MultivariateNormal-covariance', lambda M, loc, cov: M.MultivariateNormal(loc, covariance_matrix=cov),
         lambda r: dict(loc=r.normal(size=(3, 4)), cov=spd(r, (3,), 4)),
         lambda r, p: r.normal(size=(2, 3, 4)), batch=(3,), event=(4,)),
    Spec('MultivariateNormal-precision', lambda M, loc, prec: M.MultivariateNormal(loc, precision_matrix=prec),
         lambda r: dict(loc=r.normal(size=(3, 4)), prec=spd(r, (), 4)),
         lambda r, p: r.normal(size=(2, 3, 4)), batch=(3,), event=(4,)),
    Spec('MultivariateNormal-scale_tril', lambda M, loc, tril: M.MultivariateNormal(loc, scale_tril=tril),
         lambda r: dict(loc=r.normal(size=(3, 4)), tril=np.linalg.cholesky(spd(r, (3,), 4))),
         lambda r, p: r.normal(size=(2, 3, 4)), batch=(3,), event=(4,)),
    Spec('Independent', lambda M, loc, scale: M.Independent(M.Normal(loc, scale), 1),
         lambda r: dict(loc=r.normal(size=B), scale=positive(r, 0.3, 2)),
         lambda r, p: r.normal(size=(2,) + B), batch=(3,), event=(4,)),
    Spec('MixtureSameFamily',
         lambda M, logits, loc, scale: M.MixtureSameFamily(M.Categorical(logits=logits), M.Normal(loc, scale)),
         lambda r: dict(logits=r.normal(size=(3, 5)), loc=r.normal(size=(3, 5)) * 2,
                        scale=positive(r, 0.3, 2, (3, 5))),
         lambda r, p: r.normal(size=(2, 3)) * 2, batch=(3,)),
    Spec('TransformedDistribution-tanh', _tanh_squashed,
         lambda r: dict(loc=r.normal(size=B) * 0.5, scale=positive(r, 0.3, 1)),
         lambda r, p: r.uniform(-0.95, 0.95, size=(2,) + B)),
]
METHODS = ('log_prob', 'entropy', 'mean', 'variance', 'stddev', 'mode', 'cdf', 'icdf')


def build_both(spec, seed=0, requires_grad=False):
    rng = np.random.default_rng(seed)
    params = spec.params(rng)
    value = spec.value(rng, params)
    u = rng.uniform(0.05, 0.95, size=(2,) + spec.batch)

    def tensors(convert):
        ts = {k: convert(v.copy()) for k, v in params.items()}
        if requires_grad:
            for k, t in ts.items():
                if k not in spec.const:
                    t.requires_grad_(True)
        return ts

    terra_params, torch_params = tensors(terra.tensor), tensors(torch.tensor)
    return ((spec.build(D, **terra_params), terra_params, terra.tensor(value), terra.tensor(u)),
            (spec.build(TD, **torch_params), torch_params, torch.tensor(value), torch.tensor(u)))


def evaluate(d, method, value, u):
    """d.<method>, called with value (cdf, log_prob) or u (icdf); None where it raises
    NotImplementedError."""
    try:
        if method in ('log_prob', 'cdf'):
            return getattr(d, method)(value)
        if method == 'icdf':
            return d.icdf(u)
        if method == 'entropy':
            return d.entropy()
        return getattr(d, method)
    except NotImplementedError:
        return None


@pytest.mark.parametrize('spec', SPECS, ids=lambda s: s.name)
def test_values_match_pytorch(spec):
    (d, _, value, u), (td, _, t_value, t_u) = build_both(spec)
    assert tuple(d.batch_shape) == tuple(td.batch_shape) == spec.batch
    assert tuple(d.event_shape) == tuple(td.event_shape) == spec.event
    assert repr(d).replace('terra', 'torch') == repr(td)
    assert d.has_rsample == td.has_rsample
    compared = 0
    for method in METHODS:
        expected = evaluate(td, method, t_value, t_u)
        actual = evaluate(d, method, value, u)
        assert (actual is None) == (expected is None), f'{method}: terra {actual}, torch {expected}'
        if expected is not None:
            assert_close(actual, expected, what=method, **VALUE_TOL)
            assert actual.dtype == terra.float64, method
            compared += 1
    assert compared >= 1


@pytest.mark.parametrize('spec', SPECS, ids=lambda s: s.name)
def test_gradients_match_pytorch(spec):
    """The gradient of the sum of every method's output with respect to every parameter."""
    (d, params, value, u), (td, t_params, t_value, t_u) = build_both(spec, seed=1, requires_grad=True)
    terms = [(evaluate(d, m, value, u), evaluate(td, m, t_value, t_u)) for m in METHODS]
    terms = [(a, e) for a, e in terms if e is not None and e.requires_grad]
    sum(a.sum() for a, _ in terms).backward()
    sum(e.sum() for _, e in terms).backward()
    for name, t in t_params.items():
        if name not in spec.const:
            assert_close(params[name].grad, t.grad, what=name, **GRAD_TOL)


@pytest.mark.parametrize('spec', SPECS, ids=lambda s: s.name)
def test_sample_shapes_and_expand(spec):
    terra.manual_seed(0)
    (d, _, _, _), _ = build_both(spec)
    assert tuple(d.sample().shape) == spec.batch + spec.event
    assert tuple(d.sample((5, 2)).shape) == (5, 2) + spec.batch + spec.event
    assert d.sample((2,)).dtype == terra.float64 and not d.sample().requires_grad
    if d.has_rsample:
        assert tuple(d.rsample((3,)).shape) == (3,) + spec.batch + spec.event
    e = d.expand((2,) + spec.batch)
    assert type(e) is type(d) and tuple(e.batch_shape) == (2,) + spec.batch
    assert tuple(e.sample((4,)).shape) == (4, 2) + spec.batch + spec.event
    v = d.sample()
    assert_close(e.log_prob(v), d.log_prob(v).expand((2,) + spec.batch), what='expanded log_prob', **VALUE_TOL)


# ----- sampling: moments and distribution tests -----------------------------------------------

N = 40000


def check_moments(samples, mean, var, what):
    """Sample mean within 5 standard errors, sample variance within 5 of its standard errors
    (estimated from the fourth central moment)."""
    samples = to_numpy(samples)
    mean, var = to_numpy(mean), to_numpy(var)
    n = samples.shape[0]
    assert np.all(np.abs(samples.mean(0) - mean) <= 5 * np.sqrt(var / n) + 1e-12), what
    m4 = ((samples - samples.mean(0)) ** 4).mean(0)
    assert np.all(np.abs(samples.var(0) - var) <= 5 * np.sqrt((m4 - var ** 2) / n) + 1e-12), what


CONTINUOUS = [  # (name, terra distribution, scipy frozen distributions per batch entry)
    ('Uniform', lambda: D.Uniform(terra.tensor([-1.0, 2.0]), terra.tensor([0.5, 7.0])),
     [st.uniform(-1, 1.5), st.uniform(2, 5)]),
    ('Exponential', lambda: D.Exponential(terra.tensor([0.5, 4.0])), [st.expon(scale=2), st.expon(scale=0.25)]),
    ('Laplace', lambda: D.Laplace(terra.tensor([0.0, 3.0]), terra.tensor([1.0, 0.2])),
     [st.laplace(0, 1), st.laplace(3, 0.2)]),
    ('LogNormal', lambda: D.LogNormal(terra.tensor([0.0, 1.0]), terra.tensor([0.5, 1.2])),
     [st.lognorm(0.5, scale=1.0), st.lognorm(1.2, scale=math.e)]),
    # float64: Gamma(0.05) puts 1.3% of its mass below float32's smallest normal number (samples
    # are clamped there, as PyTorch's are)
    ('Gamma', lambda: D.Gamma(terra.tensor([0.05, 0.6, 1.0, 3.5, 150.0], dtype=terra.float64),
                              terra.tensor([1.0, 2.0, 1.0, 0.5, 3.0], dtype=terra.float64)),
     [st.gamma(0.05), st.gamma(0.6, scale=0.5), st.gamma(1.0), st.gamma(3.5, scale=2.0),
      st.gamma(150.0, scale=1 / 3)]),
    ('Chi2', lambda: D.Chi2(terra.tensor([1.0, 7.0])), [st.chi2(1), st.chi2(7)]),
    ('Beta', lambda: D.Beta(terra.tensor([0.3, 2.0, 20.0]), terra.tensor([0.6, 5.0, 2.0])),
     [st.beta(0.3, 0.6), st.beta(2, 5), st.beta(20, 2)]),
    ('MultivariateNormal', lambda: D.MultivariateNormal(terra.tensor([1.0, -1.0]),
                                                        terra.tensor([[2.0, 0.8], [0.8, 1.0]])),
     [st.norm(1, math.sqrt(2)), st.norm(-1, 1)]),
    ('TanhNormal', lambda: D.TransformedDistribution(D.Normal(terra.tensor([0.0, 1.0]), terra.tensor([1.0, 0.5])),
                                                     D.transforms.TanhTransform()),
     None),
]


@pytest.mark.parametrize('name, make, reference', CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
def test_continuous_samples_follow_the_distribution(name, make, reference):
    terra.manual_seed(11)
    d = make()
    samples = to_numpy(d.sample((N,)))
    assert samples.shape == (N,) + tuple(d.batch_shape) + tuple(d.event_shape)
    if reference is None:  # no closed-form moments: KS against the CDF of the transformed base
        for j in range(samples.shape[1]):
            base = st.norm(float(d.base_dist.loc[j]), float(d.base_dist.scale[j]))
            assert st.kstest(samples[:, j], lambda y: base.cdf(np.arctanh(y))).pvalue > 1e-3
        return
    check_moments(samples, d.mean, d.variance, name)
    flat = samples.reshape(N, -1)
    for j, ref in enumerate(reference):
        assert st.kstest(flat[:, j], ref.cdf).pvalue > 1e-3, (name, j)


DISCRETE = [  # (name, terra distribution, scipy frozen distributions per batch entry)
    ('Poisson', lambda: D.Poisson(terra.tensor([0.0, 0.3, 4.0, 9.9, 10.0, 35.0, 400.0])),
     [st.poisson(r) for r in (0.0, 0.3, 4.0, 9.9, 10.0, 35.0, 400.0)]),
    ('Binomial', lambda: D.Binomial(terra.tensor([5.0, 40.0, 40.0, 60.0, 1000.0, 1000.0, 0.0, 7.0]),
                                    terra.tensor([0.3, 0.1, 0.85, 0.5, 0.02, 0.7, 0.5, 1.0])),
     [st.binom(n, p) for n, p in ((5, 0.3), (40, 0.1), (40, 0.85), (60, 0.5), (1000, 0.02), (1000, 0.7),
                                  (0, 0.5), (7, 1.0))]),
    ('Geometric', lambda: D.Geometric(terra.tensor([0.05, 0.5, 0.9])), [st.geom(p, loc=-1) for p in (0.05, 0.5, 0.9)]),
]


def chi_square_pvalue(samples, ref):
    """Pearson's test of the counts of each value against ref's pmf, values with an expected count
    under 5 pooled into the tails."""
    ks = np.arange(samples.min(), samples.max() + 1)
    expected = ref.pmf(ks) * len(samples)
    expected[0] += ref.cdf(ks[0] - 1) * len(samples)
    expected[-1] += ref.sf(ks[-1]) * len(samples)
    observed = np.array([(samples == k).sum() for k in ks], dtype=np.float64)
    keep = expected >= 5
    if keep.sum() < 2:
        return 1.0
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    obs, exp = (obs, exp) if exp[-1] > 0 else (obs[:-1], exp[:-1])
    return st.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue


@pytest.mark.parametrize('name, make, reference', DISCRETE, ids=[c[0] for c in DISCRETE])
def test_discrete_samples_follow_the_distribution(name, make, reference):
    terra.manual_seed(12)
    d = make()
    samples = to_numpy(d.sample((N,)))
    assert samples.dtype == np.float32 and (samples == np.round(samples)).all() and (samples >= 0).all()
    check_moments(samples.astype(np.float64), d.mean, d.variance, name)
    for j, ref in enumerate(reference):
        assert chi_square_pvalue(samples[:, j], ref) > 1e-3, (name, j)


def test_categorical_like_samples():
    terra.manual_seed(13)
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    s = to_numpy(D.OneHotCategorical(probs=terra.tensor(probs)).sample((N,)))
    assert set(np.unique(s)) == {0.0, 1.0} and (s.sum(-1) == 1).all()
    check_moments(s, probs, probs * (1 - probs), 'OneHotCategorical')
    # Gumbel-softmax: the argmax of a relaxed sample is a categorical draw
    logits = terra.tensor(np.log(probs))
    r = to_numpy(D.RelaxedOneHotCategorical(terra.tensor(0.5), logits=logits).sample((N,)))
    np.testing.assert_allclose(r.sum(-1), 1, rtol=1e-12)
    np.testing.assert_allclose(np.bincount(r.argmax(-1), minlength=4) / N, probs, atol=5 * 0.5 / math.sqrt(N))
    # binary Concrete: P(sample > 1/2) = probs
    b = to_numpy(D.RelaxedBernoulli(terra.tensor(0.3), probs=terra.tensor([0.2, 0.7])).sample((N,)))
    assert ((0 < b) & (b < 1)).all()
    np.testing.assert_allclose((b > 0.5).mean(0), [0.2, 0.7], atol=5 * 0.5 / math.sqrt(N))


def test_dirichlet_and_mixture_samples():
    terra.manual_seed(14)
    conc = np.array([[0.4, 1.0, 3.0], [5.0, 0.2, 2.0]])
    d = D.Dirichlet(terra.tensor(conc))
    s = to_numpy(d.sample((N,)))
    np.testing.assert_allclose(s.sum(-1), 1, rtol=1e-12)
    check_moments(s, d.mean, d.variance, 'Dirichlet')
    for i in range(2):  # each coordinate is Beta(a_j, sum(a) - a_j)
        for j in range(3):
            assert st.kstest(s[:, i, j], st.beta(conc[i, j], conc[i].sum() - conc[i, j]).cdf).pvalue > 1e-3
    m = D.MixtureSameFamily(D.Categorical(probs=terra.tensor([0.3, 0.7])),
                            D.Normal(terra.tensor([-2.0, 3.0]), terra.tensor([0.5, 1.0])))
    x = to_numpy(m.sample((N,)))
    check_moments(x, m.mean, m.variance, 'MixtureSameFamily')
    assert st.kstest(x, lambda v: to_numpy(m.cdf(terra.tensor(v)))).pvalue > 1e-3


# ----- reparameterized samples: gradients -------------------------------------------------------

@pytest.mark.parametrize('alpha, x', [
    (np.geomspace(0.01, 30, 40), None),  # x from the samples below
    (np.array([0.5, 2.0, 5.0, 7.9, 9.0, 20.0, 20.0, 20.0, 50.0, 50.0]),
     np.array([0.1, 0.5, 0.79, 3.0, 9.0, 19.0, 21.0, 30.0, 40.0, 60.0])),  # every branch and its pieces
], ids=['samples', 'branches'])
def test_standard_gamma_grad_matches_pytorch(alpha, x):
    from terra.distributions.gamma import _standard_gamma_grad
    alpha = np.repeat(alpha, 50) if x is None else alpha
    if x is None:
        terra.manual_seed(15)
        x = to_numpy(D.Gamma(terra.tensor(alpha), 1.0).sample())
    expected = torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x))
    assert_close(_standard_gamma_grad(terra.tensor(alpha), terra.tensor(x)), expected, rtol=1e-10, atol=1e-14)
    alpha32, x32 = alpha.astype(np.float32), x.astype(np.float32)
    expected32 = torch._standard_gamma_grad(torch.tensor(alpha32), torch.tensor(x32))
    got32 = _standard_gamma_grad(terra.tensor(alpha32), terra.tensor(x32))
    assert got32.dtype == terra.float32
    assert_close(got32, expected32, rtol=1e-6, atol=1e-7)


def test_gamma_rsample_gradient_is_the_implicit_one():
    """d sample / d concentration is _standard_gamma_grad(concentration, sample * rate) / rate
    (what PyTorch's autograd computes for its own samples), and d sample / d rate = -sample / rate;
    the gradient of the mean of many samples estimates d E[x] / d theta."""
    terra.manual_seed(16)
    conc = terra.tensor(np.array([0.3, 1.5, 12.0]), requires_grad=True)
    rate = terra.tensor(np.array([2.0, 0.5, 1.0]), requires_grad=True)
    x = D.Gamma(conc, rate).rsample((N,))
    x.mean(0).sum().backward()
    xs = to_numpy(x)
    c, r = conc.detach().numpy(), rate.detach().numpy()
    per_sample = torch._standard_gamma_grad(torch.tensor(c).expand(N, 3), torch.tensor(xs * r)).numpy() / r
    np.testing.assert_allclose(conc.grad.numpy(), per_sample.mean(0), rtol=1e-10)
    np.testing.assert_allclose(rate.grad.numpy(), (-xs / r).mean(0), rtol=1e-10)
    # E[x] = c / r: d/dc = 1 / r, d/dr = -c / r^2, within 5 standard errors of the per-sample terms
    np.testing.assert_array_less(np.abs(conc.grad.numpy() - 1 / r), 5 * per_sample.std(0) / math.sqrt(N))
    np.testing.assert_array_less(np.abs(rate.grad.numpy() + c / r ** 2), 5 * (xs / r).std(0) / math.sqrt(N))


def test_beta_and_dirichlet_rsample_gradients_estimate_the_mean_gradient():
    terra.manual_seed(17)
    a = terra.tensor(np.array([0.5, 3.0]), requires_grad=True)
    b = terra.tensor(np.array([2.0, 1.5]), requires_grad=True)
    n = 4 * N
    x = D.Beta(a, b).rsample((n,))
    x.mean(0).sum().backward()
    an, bn = a.detach().numpy(), b.detach().numpy()
    # d/da a/(a+b) = b/(a+b)^2, d/db = -a/(a+b)^2
    np.testing.assert_allclose(a.grad.numpy(), bn / (an + bn) ** 2, rtol=0.05)
    np.testing.assert_allclose(b.grad.numpy(), -an / (an + bn) ** 2, rtol=0.05)
    conc = terra.tensor(np.array([0.7, 2.0, 4.0]), requires_grad=True)
    x = D.Dirichlet(conc).rsample((n,))
    (x[:, 0].mean() + 2 * x[:, 2].mean()).backward()
    c = conc.detach().numpy()
    s = c.sum()
    expected = (np.eye(3)[0] / s - c[0] / s ** 2) + 2 * (np.eye(3)[2] / s - c[2] / s ** 2)
    np.testing.assert_allclose(conc.grad.numpy(), expected, rtol=0.05, atol=0.003)


PATHWISE = [  # (name, distribution from parameters, parameters): pathwise in the random draws
    ('Uniform', lambda lo, hi: D.Uniform(lo, hi), [np.array([-1.0, 0.5]), np.array([1.0, 3.0])]),
    ('Exponential', lambda r: D.Exponential(r), [np.array([0.5, 3.0])]),
    ('Laplace', lambda m, s: D.Laplace(m, s), [np.array([0.0, 1.0]), np.array([1.0, 0.3])]),
    ('LogNormal', lambda m, s: D.LogNormal(m, s), [np.array([0.0, 0.5]), np.array([0.5, 0.2])]),
    ('MultivariateNormal', lambda m, L: D.MultivariateNormal(m, scale_tril=L.tril()),  # (a zero upper gradient)
     [np.array([0.5, -1.0]), np.array([[1.0, 0.0], [0.6, 0.8]])]),
    ('TanhNormal', lambda m, s: D.TransformedDistribution(D.Normal(m, s), [D.transforms.TanhTransform()]),
     [np.array([0.2, -0.4]), np.array([0.7, 1.1])]),
    ('RelaxedBernoulli', lambda t, p: D.RelaxedBernoulli(t, probs=p), [np.array(0.6), np.array([0.3, 0.8])]),
    ('RelaxedOneHotCategorical', lambda t, lg: D.RelaxedOneHotCategorical(t, logits=lg),
     [np.array(0.6), np.array([0.3, -0.8, 1.0])]),
]


@pytest.mark.parametrize('name, make, params', PATHWISE, ids=[p[0] for p in PATHWISE])
def test_rsample_gradient_against_finite_differences(name, make, params):
    """With common random numbers (the same seed), the expectation's estimate is a smooth function
    of the parameters; its central differences equal the autograd gradient."""
    weights = terra.tensor(np.random.default_rng(5).normal(size=2 if name != 'RelaxedOneHotCategorical' else 3))

    def estimate(values, grad=False):
        terra.manual_seed(18)
        ts = [terra.tensor(v, requires_grad=grad) for v in values]
        return (make(*ts).rsample((500,)) ** 2 * weights).mean(0).sum(), ts

    value, ts = estimate(params, grad=True)
    value.backward()
    h = 1e-6
    for i, p in enumerate(params):
        fd = np.zeros_like(p)
        for j in np.ndindex(p.shape):
            up, down = [q.copy() for q in params], [q.copy() for q in params]
            up[i][j] += h
            down[i][j] -= h
            fd[j] = (estimate(up)[0].item() - estimate(down)[0].item()) / (2 * h)
        np.testing.assert_allclose(ts[i].grad.numpy(), fd, rtol=1e-5, atol=1e-8, err_msg=f'{name} parameter {i}')


def test_straight_through_gradient_is_the_probs_gradient():
    probs = terra.tensor(np.array([0.2, 0.5, 0.3]), requires_grad=True)
    sample = D.OneHotCategoricalStraightThrough(probs=probs).rsample()
    (sample * terra.tensor([1.0, 2.0, 3.0])).sum().backward()
    # d/dp of sample + p - p.detach() with p = probs / probs.sum()
    p = np.array([0.2, 0.5, 0.3])
    w = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(probs.grad.numpy(), (w - (w * p).sum()) / p.sum(), rtol=1e-12)


# ----- transforms -------------------------------------------------------------------------------

def test_transforms_match_pytorch():
    x = np.random.default_rng(6).normal(size=(3, 4))
    for make in (lambda T: T.ExpTransform(), lambda T: T.SigmoidTransform(), lambda T: T.TanhTransform(),
                 lambda T: T.SoftplusTransform(), lambda T: T.AffineTransform(0.5, -2.0),
                 lambda T: T.PowerTransform(2.5).inv, lambda T: T.ComposeTransform([T.AffineTransform(1.0, 0.5),
                                                                                    T.ExpTransform()]),
                 lambda T: T.AffineTransform(0.3, 2.0, event_dim=1), lambda T: T.identity_transform):
        t, tt = make(D.transforms), make(TD.transforms)
        inp = np.abs(x) + 0.1 if isinstance(tt, TD.transforms._InverseTransform) else x
        y, ty = t(terra.tensor(inp)), tt(torch.tensor(inp))
        assert_close(y, ty, what=repr(tt), **VALUE_TOL)
        assert_close(t.inv(y), tt.inv(ty), what=repr(tt), rtol=1e-9, atol=1e-12)
        assert_close(t.log_abs_det_jacobian(terra.tensor(inp), y), tt.log_abs_det_jacobian(torch.tensor(inp), ty),
                     what=repr(tt), **VALUE_TOL)
        assert repr(t) == repr(tt) and t.sign == tt.sign
        assert repr(t.domain) == repr(tt.domain) and repr(t.codomain) == repr(tt.codomain)
    exp = D.transforms.ExpTransform()
    assert exp == D.transforms.ExpTransform() and exp.inv.inv is exp and exp.inv != exp


def test_tanh_transform_with_cache_scores_its_own_saturated_samples():
    """SAC's squashed Gaussian: a sample that rounded to 1 scores through the cache, not atanh."""
    t = D.transforms.TanhTransform(cache_size=1)
    d = D.TransformedDistribution(D.Normal(terra.tensor([30.0, 0.0]), terra.tensor([1.0, 1.0])), [t])
    a = d.rsample()
    assert float(a[0]) == 1.0
    assert np.isfinite(to_numpy(d.log_prob(a))).all()


# ----- validation -------------------------------------------------------------------------------

def torch_message(fn):
    with pytest.raises(ValueError) as info:
        fn(TD, torch.tensor)
    return str(info.value)


BAD_PARAMETERS = [
    lambda M, t: M.Exponential(t([1.0, -1.0])),
    lambda M, t: M.Laplace(t([0.0, 1.0]), t([1.0, 0.0])),
    lambda M, t: M.Gamma(t([1.0, -2.0]), t([1.0, 1.0])),
    lambda M, t: M.Chi2(t([0.0, 1.0])),
    lambda M, t: M.Beta(t([1.0, 2.0]), t([-1.0, 1.0])),
    lambda M, t: M.Dirichlet(t([[1.0, -0.5]])),
    lambda M, t: M.Poisson(t([-0.5, 1.0])),
    lambda M, t: M.Binomial(t([3.0, 2.5]), probs=t([0.5, 0.5])),
    lambda M, t: M.Binomial(t([3.0, 2.0]), probs=t([0.5, 1.5])),
    lambda M, t: M.Geometric(probs=t([0.5, 0.0])),
    lambda M, t: M.Geometric(probs=t([0.5, 1.5])),
    lambda M, t: M.OneHotCategorical(probs=t([-0.1, 1.1])),
    lambda M, t: M.Uniform(t([0.0, 1.0]), t([1.0, 1.0])),
    lambda M, t: M.LogNormal(t([0.0, 1.0]), t([1.0, -1.0])),
    lambda M, t: M.MultivariateNormal(t([0.0, 0.0]), covariance_matrix=t([[1.0, 2.0], [2.0, 1.0]])),
    lambda M, t: M.MultivariateNormal(t([0.0, 0.0]), scale_tril=t([[1.0, 0.5], [0.0, 1.0]])),
    lambda M, t: M.MultivariateNormal(t([0.0, 0.0]), precision_matrix=t([[1.0, 0.0], [0.5, 1.0]])),
    lambda M, t: M.MultivariateNormal(t([0.0, 0.0])),
    lambda M, t: M.MultivariateNormal(t(0.0), scale_tril=t([[1.0]])),
    lambda M, t: M.Dirichlet(t(1.0)),
    lambda M, t: M.Independent(M.Normal(t([0.0]), t([1.0])), 2),
    lambda M, t: M.MixtureSameFamily(M.Categorical(probs=t([0.5, 0.5])), M.Normal(t([0.0, 1.0, 2.0]), t(1.0))),
    lambda M, t: M.TransformedDistribution(M.Normal(t(0.0), t(1.0)), 'exp'),
]


@pytest.mark.parametrize('make', BAD_PARAMETERS, ids=range(len(BAD_PARAMETERS)))
def test_invalid_parameters_raise_pytorchs_error(make):
    expected = torch_message(lambda M, t: make(M, lambda v: t(v, dtype=torch.float64)))
    with pytest.raises(ValueError) as info:
        make(D, lambda v: terra.tensor(v, dtype=terra.float64))
    got = str(info.value).replace('terra', 'torch')
    # the same text up to the values printed (tensor reprs differ in their dtype suffix)
    assert got.split('found invalid values')[0] == expected.split('found invalid values')[0]


BAD_VALUES = [
    (lambda M, t: M.Exponential(t([1.0, 2.0])), [-0.5, 1.0]),
    (lambda M, t: M.Gamma(t([1.0, 2.0]), t([1.0, 1.0])), [1.0, -1.0]),
    (lambda M, t: M.Beta(t([1.0, 2.0]), t([1.0, 1.0])), [0.5, 1.5]),
    (lambda M, t: M.Poisson(t([1.0, 2.0])), [1.5, 2.0]),
    (lambda M, t: M.Binomial(t([3.0, 3.0]), probs=t([0.5, 0.5])), [1.0, 4.0]),
    (lambda M, t: M.Geometric(probs=t([0.5, 0.5])), [-1.0, 2.0]),
    (lambda M, t: M.Uniform(t([0.0, 0.0]), t([1.0, 1.0])), [0.5, 1.5]),
    (lambda M, t: M.LogNormal(t([0.0, 0.0]), t([1.0, 1.0])), [0.5, 0.0]),
    (lambda M, t: M.Dirichlet(t([1.0, 2.0])), [[0.5, 0.6]]),
    (lambda M, t: M.OneHotCategorical(probs=t([0.5, 0.5])), [[1.0, 1.0]]),
]


@pytest.mark.parametrize('make, value', BAD_VALUES, ids=range(len(BAD_VALUES)))
def test_values_outside_the_support_raise_pytorchs_error(make, value):
    expected = torch_message(lambda M, t: make(M, lambda v: t(v, dtype=torch.float64)).log_prob(
        t(value, dtype=torch.float64)))
    d = make(D, lambda v: terra.tensor(v, dtype=terra.float64))
    with pytest.raises(ValueError) as info:
        d.log_prob(terra.tensor(value, dtype=terra.float64))
    assert str(info.value).replace('terra', 'torch').split('found invalid values')[0] == \
        expected.split('found invalid values')[0]


# ----- KL divergences ---------------------------------------------------------------------------

KL_PAIRS = [  # the same family with parameters from two seeds
    'Normal', 'Exponential', 'Laplace', 'Gamma', 'Chi2', 'Beta', 'Dirichlet', 'Poisson', 'Geometric-probs',
    'OneHotCategorical', 'MultivariateNormal-covariance', 'MultivariateNormal-scale_tril', 'Independent',
    'LogNormal',
]
SPEC = {s.name: s for s in SPECS}


@pytest.mark.parametrize('name', KL_PAIRS)
def test_kl_divergence_matches_pytorch(name):
    (p, p_params, _, _), (tp, tp_params, _, _) = build_both(SPEC[name], seed=2, requires_grad=True)
    (q, _, _, _), (tq, _, _, _) = build_both(SPEC[name], seed=3)
    kl, t_kl = D.kl_divergence(p, q), TD.kl_divergence(tp, tq)
    assert_close(kl, t_kl, what='kl', **VALUE_TOL)
    assert (to_numpy(kl) >= 0).all()
    kl.sum().backward()
    t_kl.sum().backward()
    for key, t in tp_params.items():
        assert_close(p_params[key].grad, t.grad, what=key, **GRAD_TOL)


def test_kl_divergence_special_cases_match_pytorch():
    def both(make):
        return (make(D, lambda v: terra.tensor(v, dtype=terra.float64)),
                make(TD, lambda v: torch.tensor(v, dtype=torch.float64)))

    cases = [
        (lambda M, t: M.Bernoulli(probs=t([0.0, 0.3, 1.0, 0.5])),
         lambda M, t: M.Bernoulli(probs=t([0.2, 0.0, 0.6, 1.0]))),
        (lambda M, t: M.Categorical(probs=t([[0.0, 0.5, 0.5], [0.2, 0.3, 0.5]])),
         lambda M, t: M.Categorical(probs=t([[0.3, 0.3, 0.4], [0.0, 0.5, 0.5]]))),
        (lambda M, t: M.Uniform(t([0.0, -1.0, 0.5]), t([1.0, 2.0, 0.7])),
         lambda M, t: M.Uniform(t([-1.0, -0.5, 0.0]), t([3.0, 2.0, 1.0]))),
        (lambda M, t: M.Binomial(t([10.0, 12.0]), probs=t([0.3, 0.6])),
         lambda M, t: M.Binomial(t([10.0, 10.0]), probs=t([0.5, 0.1]))),
        (lambda M, t: M.Binomial(t([10.0, 12.0]), logits=t([0.3, -0.6])),
         lambda M, t: M.Binomial(t([10.0, 12.0]), logits=t([0.5, 0.1]))),
        (lambda M, t: M.Chi2(t([1.0, 3.0])), lambda M, t: M.Gamma(t([2.0, 0.5]), t([0.5, 2.0]))),
    ]
    for make_p, make_q in cases:
        (p, tp), (q, tq) = both(make_p), both(make_q)
        assert_close(D.kl_divergence(p, q), TD.kl_divergence(tp, tq), what=repr(tp), **VALUE_TOL)
    with pytest.raises(NotImplementedError, match='No KL'):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Cauchy(0.0, 1.0))  # (none in PyTorch either)
    with pytest.raises(NotImplementedError, match='q.total_count > p.total_count'):
        D.kl_divergence(D.Binomial(3, probs=terra.tensor([0.5])), D.Binomial(4, probs=terra.tensor([0.5])))


def test_register_kl_picks_the_most_specific_pair():
    class MyNormal(D.Normal):
        pass

    @D.register_kl(MyNormal, D.Normal)
    def _kl_mine(p, q):
        return terra.tensor(42.0)

    assert D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(0.0, 1.0)).item() == 42.0
    assert D.kl_divergence(D.Normal(0.0, 1.0), MyNormal(0.0, 1.0)).item() == 0.0  # (Normal, Normal)


# ----- a policy-gradient loop, eagerly and co-executed -------------------------------------------

def reinforce(steps=14):
    """REINFORCE over a categorical choice and a SAC-style tanh-squashed Gaussian action with a
    KL regularizer, a Beta-distributed exploration weight (Gamma rejection sampling inside) and a
    MultivariateNormal score."""
    terra.manual_seed(0)
    rng = np.random.default_rng(0)
    policy = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 7))
    opt = terra.optim.Adam(policy.parameters(), lr=0.02)
    scale_tril = terra.tensor([[1.0, 0.0], [0.3, 0.8]])
    losses = []
    for _ in range(steps):
        obs = terra.tensor(rng.standard_normal((16, 4)), dtype=terra.float32)
        out = policy(obs)
        loc, log_scale, logits = out[:, :2], out[:, 2:4].clamp(-3, 1), out[:, 4:]
        gaussian = D.Independent(D.Normal(loc, log_scale.exp()), 1)
        squashed = D.TransformedDistribution(gaussian, [D.transforms.TanhTransform(cache_size=1)])
        action = squashed.rsample()
        choice_dist = D.OneHotCategorical(logits=logits)
        choice = choice_dist.sample()
        explore = D.Beta(terra.full((16,), 2.0), terra.full((16,), 3.0)).sample()
        target = D.MultivariateNormal(terra.zeros(2), scale_tril=scale_tril)
        reward = target.log_prob(action) + (choice * terra.tensor([1.0, -0.5, 0.2])).sum(-1) * explore
        kl = D.kl_divergence(gaussian, D.Independent(D.Normal(terra.zeros(2), terra.ones(2)), 1))
        loss = (-(choice_dist.log_prob(choice) * reward.detach()).mean() + (0.1 * squashed.log_prob(action)
                - reward).mean() + 0.01 * kl.mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    return [loss.item() for loss in losses], [p.detach().numpy().copy() for p in policy.parameters()]


def test_reinforce_loop_coexecuted_equals_eager():
    eager = reinforce()
    with terra.coexec(fusion=False):
        coexecuted = reinforce()
    stats = terra.debug.stats()
    assert stats["coexecuted"] is True and stats["iterations_replayed"] > 0, stats
    assert coexecuted[0] == eager[0]
    for a, b in zip(coexecuted[1], eager[1]):
        assert np.array_equal(a, b)
    assert all(np.isfinite(eager[0]))
