"""Helpers shared by the distributions (torch.distributions.utils): broadcasting parameters,
probability/logit conversions, lazy properties, and sampling from a categorical."""
from functools import update_wrapper
from numbers import Number

import numpy as np

import terra

__all__ = ['broadcast_all', 'logits_to_probs', 'probs_to_logits', 'clamp_probs', 'lazy_property', 'finfo',
           'multinomial']


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
