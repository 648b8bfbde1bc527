"""Binomial(total_count, probs=... | logits=...), as torch.distributions.Binomial (1.13).
Samples are exact, by PyTorch's two methods: where total_count * min(p, 1 - p) < 10 the number of
geometric waiting times that fit in total_count trials (PyTorch's inversion), otherwise
Hoermann's transformed rejection (BTRS, 1993), its acceptance test written with lgamma where
PyTorch uses Stirling series (the same quantity); p > 0.5 samples total_count minus the failures."""
import terra

from . import constraints
from .distribution import Distribution
from .utils import ProbsLogits, broadcast_all, count_arrivals, draw_until_done

__all__ = ['Binomial']


def _clamp_by_zero(x):
    """clamp(x, min=0) whose gradient at 0 is 0.5."""
    return (x.clamp(min=0) + x - x.clamp(max=0)) / 2


def _btrs_step(n, p):
    """One round of BTRS for n p >= 10, p <= 0.5: a candidate k from a transformed uniform,
    accepted by the squeeze or by comparing with log(pmf(k) / pmf(mode))."""
    u = terra.rand(n.shape, dtype=n.dtype, device=n.device) - 0.5
    v = terra.rand(n.shape, dtype=n.dtype, device=n.device)
    spq = (n * p * (1 - p)).sqrt()
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    alpha = (2.83 + 5.1 / b) * spq
    v_r = 0.92 - 4.2 / b
    m = ((n + 1) * p).floor()
    us = 0.5 - u.abs()
    k = ((2 * a / us + b) * u + n * p + 0.5).floor()
    in_range = (k >= 0) & (k <= n)
    squeeze = (us >= 0.07) & (v <= v_r)
    log_ratio = (terra.lgamma(m + 1) + terra.lgamma(n - m + 1) - terra.lgamma(k + 1) - terra.lgamma(n - k + 1)
                 + (k - m) * (p.log() - (-p).log1p()))
    accept = (v * alpha / (a / (us * us) + b)).log() <= log_ratio
    return in_range & (squeeze | accept), k, (n, p)


def _geometric_gaps(u, p):
    """Trials up to and including the next success, on {1, 2, ...}."""
    return (u.log() / (-p).log1p().unsqueeze(-1)).floor() + 1


def sample_binomial(count, probs):
    """Binomial(count, probs) draws of their (equal) shape, in probs' dtype (torch.binomial)."""
    dtype = probs.dtype
    count, probs = count.to(terra.float64).contiguous(), probs.to(terra.float64).contiguous()
    q = terra.minimum(probs, 1 - probs)
    successes = terra.zeros_like(q)
    large = count * q >= 10
    if bool(large.any()):
        successes[large] = draw_until_done(_btrs_step, count[large], q[large])
    small = ~large & (count > 0) & (q > 0)
    if bool(small.any()):
        successes[small] = count_arrivals(count[small], _geometric_gaps, q[small])
    return terra.where(probs > 0.5, count - successes, successes).to(dtype)


class Binomial(ProbsLogits, Distribution):
    """The number of successes in total_count independent trials of probability probs; samples
    are float counts."""

    arg_constraints = {'total_count': constraints.nonnegative_integer,
                       'probs': constraints.unit_interval,
                       'logits': constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.total_count, self.probs, = broadcast_all(total_count, probs)
            self.total_count = self.total_count.type_as(self.probs)
        else:
            self.total_count, self.logits, = broadcast_all(total_count, logits)
            self.total_count = self.total_count.type_as(self.logits)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(Binomial, batch_shape, _instance, ('total_count', 'probs', 'logits'))

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with terra.no_grad():
            return sample_binomial(self.total_count.expand(shape), self.probs.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_factorial_n = terra.lgamma(self.total_count + 1)
        log_factorial_k = terra.lgamma(value + 1)
        log_factorial_nmk = terra.lgamma(self.total_count - value + 1)
        # k log(p) + (n - k) log(1 - p) = k logit - n max(logit, 0) - n log1p(exp(-|logit|))
        normalize_term = (self.total_count * _clamp_by_zero(self.logits)
                          + self.total_count * terra.log1p(terra.exp(-terra.abs(self.logits)))
                          - log_factorial_n)
        return value * self.logits - log_factorial_k - log_factorial_nmk - normalize_term

    def entropy(self):
        total_count = int(self.total_count.max())
        if not self.total_count.min() == total_count:
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(terra.exp(log_prob) * log_prob).sum(0)

    def enumerate_support(self, expand=True):
        total_count = int(self.total_count.max())
        if not self.total_count.min() == total_count:
            raise NotImplementedError("Inhomogeneous total count not supported by `enumerate_support`.")
        values = terra.arange(1 + total_count, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
