"""The families, transforms, constraint registries and KL divergences of terra.distributions
added to match the rest of torch.distributions (PyTorch 1.13): Cauchy, HalfCauchy, HalfNormal,
Gumbel, StudentT, Pareto, Weibull, Kumaraswamy, VonMises, FisherSnedecor, ContinuousBernoulli,
Multinomial, NegativeBinomial, LowRankMultivariateNormal, LogisticNormal, LKJCholesky, Wishart.

The value, gradient, shape, validation and finite-difference rsample checks are those of
test_distributions_more.py, run on these families' specs. Sampling (Terra's random streams are
not PyTorch's) is checked by moments within a few standard errors and by a Kolmogorov-Smirnov
statistic computed here against the distribution's own cdf, or, where PyTorch defines none,
against the cdf integrated from exp(log_prob) on a fine grid.
"""
import math

import numpy as np
import pytest

import terra
import terra.distributions as D
import torch
import torch.distributions as TD

import test_distributions_more as more
from parity import assert_close, to_numpy
from test_distributions_more import B, GRAD_TOL, VALUE_TOL, Spec, build_both, check_moments, positive


def corr_cholesky(rng, shape, n):
    """Cholesky factors of random correlation matrices."""
    a = rng.normal(size=tuple(shape) + (n, 2 * n))
    cov = a @ np.swapaxes(a, -1, -2)
    d = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    return np.linalg.cholesky(cov / d[..., :, None] / d[..., None, :])


def counts(rng, shape, k, n):
    return np.stack([rng.multinomial(n, np.ones(k) / k) for _ in range(int(np.prod(shape)))]).reshape(
        tuple(shape) + (k,)).astype(np.float64)


SPECS = [
    Spec('Cauchy', lambda M, loc, scale: M.Cauchy(loc, scale),
         lambda r: dict(loc=r.normal(size=B), scale=positive(r, 0.3, 2)), lambda r, p: r.standard_cauchy((2,) + B)),
    Spec('HalfCauchy', lambda M, scale: M.HalfCauchy(scale), lambda r: dict(scale=positive(r, 0.3, 2)),
         lambda r, p: np.abs(r.standard_cauchy((2,) + B))),
    Spec('HalfNormal', lambda M, scale: M.HalfNormal(scale), lambda r: dict(scale=positive(r, 0.3, 2)),
         lambda r, p: np.abs(r.normal(size=(2,) + B))),
    Spec('Gumbel', lambda M, loc, scale: M.Gumbel(loc, scale),
         lambda r: dict(loc=r.normal(size=B), scale=positive(r, 0.3, 2)), lambda r, p: r.gumbel(size=(2,) + B)),
    Spec('StudentT', lambda M, df, loc, scale: M.StudentT(df, loc, scale),  # df on both sides of 1 and 2
         lambda r: dict(df=positive(r, 0.5, 5), loc=r.normal(size=B), scale=positive(r, 0.3, 2)),
         lambda r, p: r.standard_t(3.0, size=(2,) + B)),
    Spec('Pareto', lambda M, scale, alpha: M.Pareto(scale, alpha),
         lambda r: dict(scale=positive(r, 0.5, 2), alpha=positive(r, 0.5, 4)),
         lambda r, p: p['scale'] * (1 + r.pareto(2.0, size=(2,) + B))),
    Spec('Weibull', lambda M, scale, concentration: M.Weibull(scale, concentration),
         lambda r: dict(scale=positive(r, 0.5, 2), concentration=positive(r, 0.5, 3)),
         lambda r, p: r.weibull(1.5, size=(2,) + B)),
    Spec('Kumaraswamy', lambda M, c1, c0: M.Kumaraswamy(c1, c0),
         lambda r: dict(c1=positive(r, 0.5, 3), c0=positive(r, 0.5, 3)),
         lambda r, p: r.uniform(0.05, 0.95, size=(2,) + B)),
    Spec('VonMises', lambda M, loc, concentration: M.VonMises(loc, concentration),  # both sides of 3.75
         lambda r: dict(loc=r.uniform(-3, 3, size=B), concentration=positive(r, 0.2, 8)),
         lambda r, p: r.uniform(-math.pi, math.pi, size=(2,) + B)),
    Spec('FisherSnedecor', lambda M, df1, df2: M.FisherSnedecor(df1, df2),  # df2 on both sides of 2 and 4
         lambda r: dict(df1=positive(r, 0.5, 6), df2=positive(r, 1, 8)),
         lambda r, p: r.f(3.0, 5.0, size=(2,) + B)),
    Spec('ContinuousBernoulli-probs', lambda M, probs: M.ContinuousBernoulli(probs=probs),
         lambda r: dict(probs=np.concatenate([positive(r, 0.05, 0.95, (2, 4)), [[0.4995, 0.5, 0.5005, 0.3]]])),
         lambda r, p: r.uniform(0.02, 0.98, size=(2,) + B)),
    Spec('ContinuousBernoulli-logits', lambda M, logits: M.ContinuousBernoulli(logits=logits),
         lambda r: dict(logits=r.normal(size=B) * 2), lambda r, p: r.uniform(0.02, 0.98, size=(2,) + B)),
    Spec('Multinomial', lambda M, probs: M.Multinomial(6, probs=probs),
         lambda r: dict(probs=positive(r, 0.1, 1, (3, 4))), lambda r, p: counts(r, (2, 3), 4, 6),
         batch=(3,), event=(4,)),
    Spec('NegativeBinomial-probs', lambda M, n, probs: M.NegativeBinomial(n, probs=probs),
         lambda r: dict(n=positive(r, 0.5, 8), probs=positive(r, 0.05, 0.9)),
         lambda r, p: r.integers(0, 15, size=(2,) + B).astype(np.float64), const=('n',)),
    Spec('NegativeBinomial-logits', lambda M, n, logits: M.NegativeBinomial(n, logits=logits),
         lambda r: dict(n=positive(r, 0.5, 8), logits=r.normal(size=B)),
         lambda r, p: r.integers(0, 15, size=(2,) + B).astype(np.float64)),
    Spec('LowRankMultivariateNormal', lambda M, loc, W, D_: M.LowRankMultivariateNormal(loc, W, D_),
         lambda r: dict(loc=r.normal(size=(3, 4)), W=r.normal(size=(3, 4, 2)), D_=positive(r, 0.3, 2, (4,))),
         lambda r, p: r.normal(size=(2, 3, 4)), batch=(3,), event=(4,)),
    Spec('LogisticNormal', lambda M, loc, scale: M.LogisticNormal(loc, scale),
         lambda r: dict(loc=r.normal(size=B), scale=positive(r, 0.3, 1.5)),
         lambda r, p: r.dirichlet(np.ones(5) * 2, size=(2, 3)), batch=(3,), event=(5,)),
    Spec('LKJCholesky', lambda M, concentration: M.LKJCholesky(4, concentration),
         lambda r: dict(concentration=positive(r, 0.5, 3, (3,))), lambda r, p: corr_cholesky(r, (2, 3), 4),
         batch=(3,), event=(4, 4)),
    Spec('Wishart', lambda M, df, cov: M.Wishart(df, covariance_matrix=cov),
         lambda r: dict(df=positive(r, 4, 9, (3,)), cov=more.spd(r, (3,), 4)),
         lambda r, p: more.spd(r, (2, 3), 4), batch=(3,), event=(4, 4)),
]
SPEC = {s.name: s for s in SPECS + more.SPECS}
ids = [s.name for s in SPECS]


@pytest.mark.parametrize('spec', SPECS, ids=ids)
def test_values_match_pytorch(spec):
    more.test_values_match_pytorch(spec)


@pytest.mark.parametrize('spec', SPECS, ids=ids)
def test_gradients_match_pytorch(spec):
    more.test_gradients_match_pytorch(spec)


@pytest.mark.parametrize('spec', SPECS, ids=ids)
def test_sample_shapes_and_expand(spec):
    more.test_sample_shapes_and_expand(spec)


def test_module_names_and_enumeration_match_pytorch():
    gap = [n for n in dir(TD) if not n.startswith('_') and not hasattr(D, n)]
    assert gap == []
    from terra.distributions.studentT import StudentT  # PyTorch's module names import
    from terra.distributions.lowrank_multivariate_normal import LowRankMultivariateNormal
    assert StudentT is D.StudentT and LowRankMultivariateNormal is D.LowRankMultivariateNormal
    assert D.exp_family.ExponentialFamily is D.ExponentialFamily
    for name in ('StudentT', 'Cauchy', 'Wishart', 'VonMises', 'Multinomial'):
        assert getattr(D, name).has_rsample == getattr(TD, name).has_rsample
    assert isinstance(D.ContinuousBernoulli(0.3), D.ExponentialFamily)


# ----- sampling ------------------------------------------------------------------------------------

N = 20000


def ks_statistic(samples, cdf):
    """sup |F_n - F| of the samples' empirical cdf against cdf (a numpy function)."""
    x = np.sort(samples)
    f = cdf(x)
    n = len(x)
    return max((np.arange(1, n + 1) / n - f).max(), (f - np.arange(n) / n).max())


KS_CRITICAL = 1.95 / math.sqrt(N)  # p = 0.001


def own_cdf(d, j):
    """The j-th batch entry of d's cdf, as a numpy function."""
    return lambda x: to_numpy(d.cdf(terra.tensor(x).unsqueeze(-1).expand(len(x), d.batch_shape[0])))[:, j]


def integrated_cdf(d, j, low, high):
    """The cdf of the j-th batch entry from the trapezoidal integral of exp(log_prob)."""
    grid = np.linspace(low, high, 200001)
    density = np.exp(to_numpy(d.log_prob(terra.tensor(grid).unsqueeze(-1).expand(len(grid), d.batch_shape[0]))))[:, j]
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2 * np.diff(grid))])
    return lambda x: np.interp(x, grid, cdf)


def f64(*values):
    return [terra.tensor(v, dtype=terra.float64) for v in values]


CONTINUOUS = [  # (name, distribution with batch shape (2,), cdf of entry j or None, check moments)
    ('Cauchy', lambda: D.Cauchy(*f64([0.0, 2.0], [1.0, 0.3])), own_cdf, False),
    ('HalfCauchy', lambda: D.HalfCauchy(*f64([1.0, 0.3])), own_cdf, False),
    ('HalfNormal', lambda: D.HalfNormal(*f64([1.0, 2.5])), own_cdf, True),
    ('Gumbel', lambda: D.Gumbel(*f64([0.0, -1.0], [1.0, 2.0])), own_cdf, True),
    ('Pareto', lambda: D.Pareto(*f64([1.0, 0.5], [5.0, 6.0]), validate_args=False), own_cdf, True),
    ('Weibull', lambda: D.Weibull(*f64([1.0, 2.0], [0.7, 3.0])), own_cdf, True),
    ('Kumaraswamy', lambda: D.Kumaraswamy(*f64([0.5, 3.0], [2.0, 0.8])), own_cdf, True),
    ('ContinuousBernoulli', lambda: D.ContinuousBernoulli(*f64([0.2, 0.5])), own_cdf, True),
    ('StudentT', lambda: D.StudentT(*f64([1.5, 6.0], [0.0, 1.0], [1.0, 0.5])),
     lambda d, j: integrated_cdf(d, j, -2000, 2000), False),
    ('FisherSnedecor', lambda: D.FisherSnedecor(*f64([3.0, 10.0], [9.0, 20.0])),
     lambda d, j: integrated_cdf(d, j, 1e-12, 200), True),
    ('VonMises', lambda: D.VonMises(*f64([0.5, -3.0], [0.3, 12.0])),
     lambda d, j: integrated_cdf(d, j, -math.pi, math.pi), False),
]


@pytest.mark.parametrize('name, make, cdf, moments', CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
def test_continuous_samples_follow_the_distribution(name, make, cdf, moments):
    terra.manual_seed(21)
    d = make()
    samples = to_numpy(d.sample((N,)))
    assert samples.shape == (N, 2) and samples.dtype == np.float64
    assert bool(d.support.check(terra.tensor(samples)).all())
    if moments:
        check_moments(samples, d.mean, d.variance, name)
    for j in range(2):
        assert ks_statistic(samples[:, j], cdf(d, j)) < KS_CRITICAL, (name, j)


def test_von_mises_circular_moments():
    terra.manual_seed(22)
    d = D.VonMises(*f64([0.5, -3.0], [0.3, 12.0]))
    x = to_numpy(d.sample((N,)))
    # E[cos(x - loc)] = I1/I0 = 1 - circular variance
    resultant = np.cos(x - to_numpy(d.loc)).mean(0)
    np.testing.assert_allclose(resultant, 1 - to_numpy(d.variance), atol=5 / math.sqrt(N))


def test_discrete_samples_have_the_right_moments():
    terra.manual_seed(23)
    nb = D.NegativeBinomial(*f64([0.7, 5.0]), probs=terra.tensor([0.3, 0.8], dtype=terra.float64))
    s = to_numpy(nb.sample((N,)))
    assert (s == np.round(s)).all() and (s >= 0).all()
    check_moments(s, nb.mean, nb.variance, 'NegativeBinomial')
    m = D.Multinomial(9, probs=terra.tensor([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]], dtype=terra.float64))
    s = to_numpy(m.sample((N,)))
    assert (s.sum(-1) == 9).all() and s.dtype == np.float64
    check_moments(s, m.mean, m.variance, 'Multinomial')


def test_matrix_samples_have_the_right_moments():
    terra.manual_seed(24)
    eta = np.array([0.5, 4.0])
    lkj = D.LKJCholesky(3, terra.tensor(eta))
    L = to_numpy(lkj.sample((N,)))
    assert bool(D.constraints.corr_cholesky.check(terra.tensor(L)).all())
    corr = L @ np.swapaxes(L, -1, -2)
    # each off-diagonal correlation is 2 Beta(b, b) - 1 with b = eta - 1 + dim / 2 (PyTorch 1.13's
    # sampler gets the rows below the second wrong: var 0.373 and 0.137 here)
    var = 1 / (2 * eta + 3 - 1)
    for i, j in ((1, 0), (2, 0), (2, 1)):
        check_moments(corr[:, :, i, j], np.zeros(2), var, 'LKJCholesky')
    cov = more.spd(np.random.default_rng(7), (2,), 3)
    w = D.Wishart(terra.tensor([3.5, 9.0]), covariance_matrix=terra.tensor(cov))
    s = to_numpy(w.sample((N,)))
    assert np.allclose(s, np.swapaxes(s, -1, -2)) and (np.linalg.eigvalsh(s) > 0).all()
    check_moments(s.reshape(N, 2, 9), to_numpy(w.mean).reshape(2, 9), to_numpy(w.variance).reshape(2, 9), 'Wishart')


# ----- reparameterized samples ---------------------------------------------------------------------

PATHWISE = [
    ('Cauchy', lambda m, s: D.Cauchy(m, s), [np.array([0.0, 1.0]), np.array([1.0, 0.3])]),
    ('HalfNormal', lambda s: D.HalfNormal(s), [np.array([1.0, 0.3])]),
    ('Gumbel', lambda m, s: D.Gumbel(m, s), [np.array([0.0, 1.0]), np.array([1.0, 0.3])]),
    ('Pareto', lambda s, a: D.Pareto(s, a), [np.array([1.0, 0.5]), np.array([5.0, 7.0])]),
    ('Weibull', lambda s, k: D.Weibull(s, k), [np.array([1.0, 0.5]), np.array([1.5, 3.0])]),
    ('Kumaraswamy', lambda a, b: D.Kumaraswamy(a, b), [np.array([0.5, 3.0]), np.array([2.0, 1.5])]),
    ('ContinuousBernoulli', lambda p: D.ContinuousBernoulli(p), [np.array([0.2, 0.7])]),
    ('LowRankMultivariateNormal', lambda m, W, d: D.LowRankMultivariateNormal(m, W, d),
     [np.array([0.5, -1.0]), np.array([[1.0], [0.4]]), np.array([0.5, 2.0])]),
    ('LogisticNormal', lambda m, s: D.LogisticNormal(m, s), [np.array([0.3]), np.array([0.8])]),
]


@pytest.mark.parametrize('name, make, params', PATHWISE, ids=[p[0] for p in PATHWISE])
def test_rsample_gradient_against_finite_differences(name, make, params):
    more.test_rsample_gradient_against_finite_differences(name, make, params)


def test_rsample_is_the_icdf_of_a_uniform():
    """Cauchy's and ContinuousBernoulli's rsample is icdf(u): the same draw and the same gradient
    as PyTorch's icdf at that u."""
    for build in (lambda M, t: M.Cauchy(t([0.5, -1.0]), t([2.0, 0.3])),
                  lambda M, t: M.ContinuousBernoulli(t([0.2, 0.8]))):
        terra.manual_seed(25)
        u = terra.rand((5, 2), dtype=terra.float64)
        terra.manual_seed(25)
        params = []

        def tensor(v, lib):
            params.append(lib.tensor(v, dtype=lib.float64, requires_grad=True))
            return params[-1]

        x = build(D, lambda v: tensor(v, terra)).rsample((5,))
        y = build(TD, lambda v: tensor(v, torch)).icdf(torch.tensor(to_numpy(u)))
        assert_close(x, y, **VALUE_TOL)
        x.sum().backward()
        y.sum().backward()
        half = len(params) // 2
        for a, e in zip(params[:half], params[half:]):
            assert_close(a.grad, e.grad, **GRAD_TOL)


def test_gamma_based_rsample_gradients_estimate_the_mean_gradient():
    """StudentT (through Chi2), FisherSnedecor and Wishart (Bartlett's Chi2 diagonal) are
    reparameterized through Gamma's implicit gradient: the gradient of a sample mean estimates the
    gradient of the expectation."""
    terra.manual_seed(26)
    n = 4 * N
    df = terra.tensor([10.0, 14.0], dtype=terra.float64, requires_grad=True)
    scale = terra.tensor([0.5, 2.0], dtype=terra.float64, requires_grad=True)
    (D.StudentT(df, 0.0, scale).rsample((n,)) ** 2).mean(0).sum().backward()
    d, s = df.detach().numpy(), scale.detach().numpy()
    np.testing.assert_allclose(df.grad.numpy(), -2 * s ** 2 / (d - 2) ** 2, rtol=0.1)  # E = s^2 d / (d - 2)
    np.testing.assert_allclose(scale.grad.numpy(), 2 * s * d / (d - 2), rtol=0.03)
    df2 = terra.tensor([8.0, 12.0], dtype=terra.float64, requires_grad=True)
    D.FisherSnedecor(terra.tensor([3.0, 5.0], dtype=terra.float64), df2).rsample((n,)).mean(0).sum().backward()
    np.testing.assert_allclose(df2.grad.numpy(), -2 / (df2.detach().numpy() - 2) ** 2, rtol=0.1)  # E = d/(d-2)
    wdf = terra.tensor(5.0, dtype=terra.float64, requires_grad=True)
    cov = more.spd(np.random.default_rng(8), (), 3)
    D.Wishart(wdf, covariance_matrix=terra.tensor(cov)).rsample((N,)).mean(0).sum().backward()
    np.testing.assert_allclose(wdf.grad.item(), cov.sum(), rtol=0.05)  # E = df * cov


# ----- transforms and the constraint registries ---------------------------------------------------

def _lower_tri(rng):
    return np.tril(rng.normal(size=(2, 3, 3)))


TRANSFORMS = [  # (transform from a transforms module, input)
    (lambda T: T.AbsTransform(), lambda r: r.normal(size=(3, 4))),
    (lambda T: T.SoftmaxTransform(), lambda r: r.normal(size=(3, 4))),
    (lambda T: T.StickBreakingTransform(), lambda r: r.normal(size=(3, 4))),
    (lambda T: T.CorrCholeskyTransform(), lambda r: r.normal(size=(2, 6))),
    (lambda T: T.LowerCholeskyTransform(), lambda r: r.normal(size=(2, 3, 3))),
    (lambda T: T.ReshapeTransform((2, 3), (3, 2)), lambda r: r.normal(size=(4, 2, 3))),
    (lambda T: T.IndependentTransform(T.ExpTransform(), 1), lambda r: r.normal(size=(3, 4))),
    (lambda T: T.CatTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)], dim=-1, lengths=[2, 3]),
     lambda r: r.normal(size=(3, 5))),
    (lambda T: T.CatTransform([T.IndependentTransform(T.ExpTransform(), 1), T.SoftmaxTransform()], dim=0,
                              lengths=[1, 2]), lambda r: r.normal(size=(3, 4))),
    (lambda T: T.StackTransform([T.ExpTransform(), T.SigmoidTransform(), T.TanhTransform()], dim=1),
     lambda r: r.normal(size=(4, 3))),
    (lambda T: T.CumulativeDistributionTransform(
        (D if T is D.transforms else TD).Normal(0.5, 2.0)), lambda r: r.normal(size=(3, 4))),
]


@pytest.mark.parametrize('make, inp', TRANSFORMS, ids=range(len(TRANSFORMS)))
def test_transforms_match_pytorch(make, inp):
    x = inp(np.random.default_rng(9))
    t, tt = make(D.transforms), make(TD.transforms)
    y, ty = t(terra.tensor(x)), tt(torch.tensor(x))
    assert_close(y, ty, what=repr(tt), **VALUE_TOL)
    assert_close(t.inv(y), tt.inv(ty), what=repr(tt), rtol=1e-9, atol=1e-12)
    try:
        expected = tt.log_abs_det_jacobian(torch.tensor(x), ty)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            t.log_abs_det_jacobian(terra.tensor(x), y)
    else:
        assert_close(t.log_abs_det_jacobian(terra.tensor(x), y), expected, what=repr(tt), **VALUE_TOL)
    assert t.bijective == tt.bijective and (t == make(D.transforms)) == (tt == make(TD.transforms))
    assert repr(t.domain) == repr(tt.domain) and repr(t.codomain) == repr(tt.codomain)
    assert tuple(t.forward_shape(x.shape)) == tuple(tt.forward_shape(torch.Size(x.shape)))
    assert tuple(t.inverse_shape(tuple(ty.shape))) == tuple(tt.inverse_shape(ty.shape))


def _registry_constraints(C):
    return [C.real, C.positive, C.nonnegative, C.greater_than(1.5), C.greater_than_eq(-1.0), C.less_than(2.0),
            C.unit_interval, C.interval(-2.0, 3.0), C.half_open_interval(0.0, 4.0), C.simplex, C.corr_cholesky,
            C.lower_cholesky, C.independent(C.positive, 1),
            C.cat([C.positive, C.real, C.unit_interval], 0, [1, 2, 1]),
            C.stack([C.positive, C.interval(0.0, 2.0), C.real], 0)]


@pytest.mark.parametrize('registry', ['biject_to', 'transform_to'])
def test_constraint_registries_match_pytorch(registry):
    rng = np.random.default_rng(10)
    for c, tc in zip(_registry_constraints(D.constraints), _registry_constraints(TD.constraints)):
        try:
            tt = getattr(TD, registry)(tc)
        except NotImplementedError:
            with pytest.raises(NotImplementedError, match='Cannot transform'):
                getattr(D, registry)(c)
            continue
        t = getattr(D, registry)(c)
        assert repr(t).replace('terra', 'torch') == repr(tt), repr(tc)
        shape = (3, 3, 3) if tc.event_dim == 2 else (3, 4)  # (3, 4): the stack and cat slice dim 0
        shape = tuple(tt.inverse_shape(torch.Size(shape if type(tc).__name__ != '_Cat' else (4, 3))))
        x = rng.normal(size=shape)
        y = t(terra.tensor(x))
        assert_close(y, tt(torch.tensor(x)), what=repr(tc), **VALUE_TOL)
        assert bool(c.check(y).all()), repr(tc)


def test_new_constraints_match_pytorch():
    rng = np.random.default_rng(11)
    values = [rng.normal(size=(3, 3, 3)), corr_cholesky(rng, (3,), 3), more.spd(rng, (3,), 3),
              np.abs(rng.normal(size=(3, 3, 3))).round()]
    for name in ('corr_cholesky', 'positive_semidefinite', 'less_than', 'multinomial'):
        c, tc = getattr(D.constraints, name), getattr(TD.constraints, name)
        if name in ('less_than', 'multinomial'):
            c, tc = c(1.0 if name == 'less_than' else 4), tc(1.0 if name == 'less_than' else 4)
        assert repr(c) == repr(tc) and c.event_dim == tc.event_dim and c.is_discrete == tc.is_discrete
        for v in values:
            np.testing.assert_array_equal(to_numpy(c.check(terra.tensor(v))), tc.check(torch.tensor(v)).numpy())


# ----- validation -------------------------------------------------------------------------------

BAD_PARAMETERS = [
    lambda M, t: M.Cauchy(t([0.0, 1.0]), t([1.0, 0.0])),
    lambda M, t: M.HalfNormal(t([1.0, -1.0])),
    lambda M, t: M.HalfCauchy(t([0.0, 1.0])),
    lambda M, t: M.Gumbel(t([0.0, 1.0]), t([-1.0, 1.0])),
    lambda M, t: M.StudentT(t([0.0, 1.0])),
    lambda M, t: M.Pareto(t([1.0, 1.0]), t([1.0, -2.0])),
    lambda M, t: M.Weibull(t([1.0, -1.0]), t([1.0, 1.0])),
    lambda M, t: M.Kumaraswamy(t([1.0, 1.0]), t([0.0, 1.0])),
    lambda M, t: M.VonMises(t([0.0, 1.0]), t([1.0, -1.0])),
    lambda M, t: M.FisherSnedecor(t([1.0, 1.0]), t([1.0, 0.0])),
    lambda M, t: M.ContinuousBernoulli(t([0.5, 1.5]), validate_args=True),
    lambda M, t: M.Multinomial(3, probs=t([-0.5, 1.5])),
    lambda M, t: M.NegativeBinomial(t([-1.0, 2.0]), probs=t([0.5, 0.5])),
    lambda M, t: M.NegativeBinomial(t([1.0, 2.0]), probs=t([0.5, 1.0])),
    lambda M, t: M.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0], [1.0]]), t([1.0, 0.0])),
    lambda M, t: M.LowRankMultivariateNormal(t([0.0, 0.0]), t([1.0, 1.0]), t([1.0, 1.0])),
    lambda M, t: M.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0, 1.0, 1.0]]), t([1.0, 1.0])),
    lambda M, t: M.LogisticNormal(t([0.0, 1.0]), t([1.0, -1.0])),
    lambda M, t: M.LKJCholesky(1, t(1.0)),
    lambda M, t: M.LKJCholesky(3, t([1.0, 0.0])),
    lambda M, t: M.Wishart(t(3.0), covariance_matrix=t([[1.0, 2.0], [2.0, 1.0]])),
    lambda M, t: M.Wishart(t(0.5), scale_tril=t([[1.0, 0.0], [0.0, 1.0]])),
]


@pytest.mark.parametrize('make', BAD_PARAMETERS, ids=range(len(BAD_PARAMETERS)))
def test_invalid_parameters_raise_pytorchs_error(make):
    more.test_invalid_parameters_raise_pytorchs_error(make)


BAD_VALUES = [
    (lambda M, t: M.HalfNormal(t([1.0, 2.0])), [-0.5, 1.0]),
    (lambda M, t: M.Pareto(t([1.0, 2.0]), t([1.0, 1.0])), [1.5, 1.5]),
    (lambda M, t: M.Weibull(t([1.0, 2.0]), t([1.0, 1.0])), [1.5, 0.0]),
    (lambda M, t: M.Kumaraswamy(t([1.0, 2.0]), t([1.0, 1.0])), [0.5, 1.5]),
    (lambda M, t: M.FisherSnedecor(t([1.0, 2.0]), t([1.0, 1.0])), [-0.5, 1.5]),
    (lambda M, t: M.NegativeBinomial(t([3.0, 3.0]), probs=t([0.5, 0.5])), [1.5, 2.0]),
    (lambda M, t: M.Multinomial(3, probs=t([0.5, 0.5])), [[2.0, 2.0]]),
    (lambda M, t: M.LKJCholesky(2, t(1.0)), [[1.0, 0.0], [0.5, 0.5]]),
    (lambda M, t: M.Wishart(t(3.0), covariance_matrix=t([[1.0, 0.0], [0.0, 1.0]])), [[1.0, 2.0], [2.0, 1.0]]),
]


@pytest.mark.parametrize('make, value', BAD_VALUES, ids=range(len(BAD_VALUES)))
def test_values_outside_the_support_raise_pytorchs_error(make, value):
    more.test_values_outside_the_support_raise_pytorchs_error(make, value)


# ----- KL divergences ---------------------------------------------------------------------------

KL_PAIRS = [  # (p's spec, q's spec) at parameters from two seeds
    ('Cauchy', 'Cauchy'), ('Gumbel', 'Gumbel'), ('HalfNormal', 'HalfNormal'), ('Pareto', 'Pareto'),
    ('ContinuousBernoulli-probs', 'ContinuousBernoulli-logits'),
    ('LowRankMultivariateNormal', 'LowRankMultivariateNormal'),
    ('LowRankMultivariateNormal', 'MultivariateNormal-covariance'),
    ('MultivariateNormal-scale_tril', 'LowRankMultivariateNormal'),
    ('Beta', 'ContinuousBernoulli-probs'), ('Beta', 'Exponential'), ('Beta', 'Gamma'), ('Beta', 'Normal'),
    ('Beta', 'Uniform'), ('Beta', 'Pareto'), ('ContinuousBernoulli-logits', 'Exponential'),
    ('ContinuousBernoulli-probs', 'Normal'), ('ContinuousBernoulli-probs', 'Uniform'),
    ('Exponential', 'Gamma'), ('Exponential', 'Gumbel'), ('Exponential', 'Normal'), ('Exponential', 'Uniform'),
    ('Gamma', 'Exponential'), ('Gamma', 'Gumbel'), ('Gamma', 'Normal'), ('Gumbel', 'Normal'),
    ('Gumbel', 'Exponential'), ('Laplace', 'Normal'), ('Normal', 'Gumbel'), ('Normal', 'Laplace'),
    ('Normal', 'Pareto'), ('Pareto', 'Exponential'), ('Pareto', 'Gamma'), ('Pareto', 'Normal'),
    ('Poisson', 'Binomial-probs'), ('Uniform', 'Beta'), ('Uniform', 'ContinuousBernoulli-logits'),
    ('Uniform', 'Exponential'), ('Uniform', 'Gamma'), ('Uniform', 'Gumbel'), ('Uniform', 'Normal'),
    ('Uniform', 'Pareto'),
]


@pytest.mark.parametrize('p_name, q_name', KL_PAIRS, ids=['-'.join(p) for p in KL_PAIRS])
def test_kl_divergence_matches_pytorch(p_name, q_name):
    (p, p_params, _, _), (tp, tp_params, _, _) = build_both(SPEC[p_name], seed=2, requires_grad=True)
    (q, _, _, _), (tq, _, _, _) = build_both(SPEC[q_name], seed=3)
    kl, t_kl = D.kl_divergence(p, q), TD.kl_divergence(tp, tq)
    assert_close(kl, t_kl, what='kl', **VALUE_TOL)
    if not t_kl.requires_grad:  # the infinite pairs
        assert not kl.requires_grad
        return
    kl.sum().backward()
    t_kl.sum().backward()
    for key, t in tp_params.items():
        if t.grad is not None:
            assert_close(p_params[key].grad, t.grad, what=key, **GRAD_TOL)


def test_kl_divergence_of_exponential_families_by_bregman():
    """Wishart has no closed form registered: PyTorch's Bregman divergence of the log normalizer
    (autograd of autograd). (ContinuousBernoulli's closed form is checked against it here too.)"""
    for name in ('Wishart', 'ContinuousBernoulli-logits'):
        (p, _, _, _), (tp, _, _, _) = build_both(SPEC[name], seed=4)
        (q, _, _, _), (tq, _, _, _) = build_both(SPEC[name], seed=5)
        assert_close(D.kl.kl_divergence(p, q), TD.kl_divergence(tp, tq), what=name, rtol=1e-9, atol=1e-12)
    with pytest.raises(NotImplementedError, match='different exponential families'):
        D.kl_divergence(D.ContinuousBernoulli(0.3),
                        D.Wishart(3.0, covariance_matrix=terra.eye(2, dtype=terra.float64)))
