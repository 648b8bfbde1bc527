"""Helpers shared by the distributions (torch.distributions.utils): broadcasting parameters,
probability/logit conversions, lazy properties, summing event dimensions, and the samplers that
need a random number of draws per entry (rejection sampling, counting arrivals) or a categorical."""
from functools import update_wrapper
from numbers import Number

import numpy as np

import terra

__all__ = ['broadcast_all', 'logits_to_probs', 'probs_to_logits', 'clamp_probs', 'lazy_property', 'finfo',
           'multinomial', 'ProbsLogits', 'draw_until_done', 'count_arrivals', 'euler_constant',
           'tril_matrix_to_vec', 'vec_to_tril_matrix']

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant


def finfo(dtype):
    """numpy's finfo for a terra floating-point dtype (eps, min, tiny)."""
    return np.finfo(np.float64 if dtype == terra.float64 else np.float32)


def broadcast_all(*values):
    """Tensors broadcast to a common shape; numbers become tensors of the first tensor's dtype
    (float32 when all are numbers)."""
    if not all(isinstance(v, (terra.Tensor, Number)) for v in values):
        raise ValueError('Input arguments must all be instances of numbers.Number or terra.Tensor.')
    if not all(isinstance(v, terra.Tensor) for v in values):
        dtype = terra.float32
        for value in values:
            if isinstance(value, terra.Tensor):
                dtype = value.dtype
                break
        values = [v if isinstance(v, terra.Tensor) else terra.tensor(v, dtype=dtype) for v in values]
    return terra.broadcast_tensors(*values)


def _tril_index(n, diag, device=None):
    """The row-major (rows, cols) of the entries of an n x n matrix on or below diagonal diag."""
    return terra.tril_indices(n, n, diag, device=device)


def tril_matrix_to_vec(mat, diag=0):
    """The entries of mat's last two dims on or below diagonal diag, row by row."""
    rows, cols = _tril_index(mat.shape[-1], diag, mat.device)
    return mat[..., rows, cols]


def vec_to_tril_matrix(vec, diag=0):
    """The n x n matrices whose entries on or below diagonal diag are vec's last dim, row by row,
    and zero elsewhere (tril_matrix_to_vec's inverse). A gather from vec with a zero appended, so
    that it is differentiable without an in-place write."""
    m = vec.shape[-1]
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if round(n) - n > float(finfo(vec.dtype).eps):
        raise ValueError(f'The size of last dimension is {m} which cannot be expressed as '
                         + 'the lower triangular part of a square D x D matrix.')
    n = round(n)
    rows, cols = (idx.tolist() for idx in _tril_index(n, diag))
    index = np.full((n, n), m, dtype=np.int64)  # m: the appended zero
    index[rows, cols] = np.arange(len(rows))
    padded = terra.cat([vec, vec.new_zeros(tuple(vec.shape[:-1]) + (1,))], -1)
    gathered = padded.index_select(-1, terra.tensor(index.reshape(-1), device=vec.device))
    return gathered.reshape(tuple(vec.shape[:-1]) + (n, n))


def logits_to_probs(logits, is_binary=False):
    """Probabilities from log-odds (binary) or from unnormalized log-probabilities (last dim)."""
    if is_binary:
        return terra.sigmoid(logits)
    return terra.softmax(logits, dim=-1)


def clamp_probs(probs):
    eps = float(finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    """Log-odds (binary) or log-probabilities, from probabilities clamped away from 0 and 1."""
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return terra.log(ps_clamped) - terra.log1p(-ps_clamped)
    return terra.log(ps_clamped)


class lazy_property:
    """A property computed on first access, then stored as an instance attribute (so that
    `'probs' in d.__dict__` tells which parameterization a distribution was built with)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        with terra.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class ProbsLogits:
    """For distributions parameterized by probs or logits (one given, _param aliasing it): the
    other is computed from it on first use. _is_binary: log-odds of one outcome (Bernoulli,
    Binomial, Geometric, ...) rather than normalized log-probabilities over the last dimension."""

    _is_binary = True

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=self._is_binary)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=self._is_binary)

    @property
    def param_shape(self):
        return self._param.size()

    def _hold_probs_or_logits(self, probs, logits):
        """Holds the one of probs and logits given (a number becomes a tensor) as it and as
        _param; returns the batch shape of an elementwise distribution (() for a number)."""
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        given = probs if probs is not None else logits
        self._param, = broadcast_all(given)
        setattr(self, 'probs' if probs is not None else 'logits', self._param)
        return () if isinstance(given, Number) else self._param.size()


def multinomial(probs_2d, num_samples, replacement, generator=None):
    """Row-wise draws of category indices (int64, shape (rows, num_samples)) with probabilities
    proportional to the rows of probs_2d, as torch.multinomial.

    Terra's registry has no multinomial op; this composes one from uniform draws. With replacement:
    inverse CDF (count the cumulative probabilities below a uniform draw). Without replacement:
    exponential races (the categories sorted by -log(u) / p, the first num_samples kept), which
    gives the distribution of drawing one by one without replacement."""
    kwargs = {} if generator is None else {'generator': generator}
    rows, k = probs_2d.shape
    with terra.no_grad():
        if replacement:
            cdf = probs_2d.cumsum(-1)
            cdf = cdf / cdf[:, -1:]
            u = terra.rand((rows, num_samples, 1), dtype=probs_2d.dtype, **kwargs)
            idx = (cdf.unsqueeze(1) <= u).sum(-1)
            return idx.clamp(max=k - 1)
        if num_samples > k:
            raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        u = terra.rand((rows, k), dtype=probs_2d.dtype, **kwargs)
        keys = -terra.log(u) / probs_2d
        return keys.argsort(dim=-1)[:, :num_samples]


def _sum_rightmost(value, dim):
    """value summed over its dim rightmost dimensions (value itself when dim is 0)."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:value.dim() - dim]) + (-1,)).sum(-1)


def draw_until_done(step, *state, max_rounds=100):
    """The samplers that need a random number of draws per entry, vectorized: state is flat tensors
    of one length (an entry's parameters, and whatever it carries from round to round);
    step(*state) draws for every entry given and returns (done, value, next_state). Entries done
    keep their value; the others, and only they, go on to the next round with their next state.
    Rejection samplers accept with high probability (Marsaglia-Tsang, PTRS, BTRS: >= 0.8 a round),
    so 100 rounds are never reached in practice; reaching them raises rather than return a sample
    from another distribution. Each round reads how many entries are left (a fetch when
    co-executed)."""
    n = state[0].numel()
    idx = terra.arange(n, device=state[0].device)
    out = None
    for _ in range(max_rounds):
        done, value, state = step(*state)
        if out is None:
            out = terra.zeros(n, dtype=value.dtype, device=value.device)
        out[idx[done]] = value[done]
        left = ~done
        idx = idx[left]
        if idx.numel() == 0:
            return out
        state = tuple(s[left] for s in state)
    raise RuntimeError(f'sampling did not finish in {max_rounds} rounds')


def count_arrivals(horizon, gaps, *params, block=16):
    """For each entry of the flat tensor horizon, the number of arrivals of a renewal process in
    [0, horizon]: the largest k with gap_1 + ... + gap_k <= horizon, where gaps(u, *params) turns
    a (len(horizon), block) float64 tensor of uniforms in (0, 1] into gaps (its inverse CDF).
    Unit exponential gaps give Poisson counts, geometric gaps on {1, 2, ...} binomial ones. Exact:
    an entry whose block of gaps ends before its horizon does goes on in the next round with the
    horizon left. Float64 throughout, the counts included."""
    def step(rest, count, *params):
        u = 1 - terra.rand((rest.shape[0], block), dtype=terra.float64, device=rest.device)
        arrivals = gaps(u, *params).cumsum(-1)
        within = (arrivals <= rest.unsqueeze(-1)).sum(-1).to(terra.float64)
        return within < block, count + within, (rest - arrivals[:, -1], count + block) + params

    horizon = horizon.to(terra.float64)
    return draw_until_done(step, horizon, terra.zeros_like(horizon), *params)
