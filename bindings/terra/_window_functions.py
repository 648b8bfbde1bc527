"""PyTorch's factory functions that Terra builds on the host: logspace, torch.range (deprecated)
and the signal windows (hann, hamming, blackman, bartlett, kaiser). The values are computed with
numpy in float64, as PyTorch computes them, then put in the requested dtype and device.

This module defines torch.range: the builtin is spelled builtins.range here.
"""
import builtins
import math
import warnings

import numpy as np

from . import _C
from ._C import _ops
from ._functions import _numpy_dtype
from ._math_functions import _full_like
from ._shape_functions import exporters

__all__ = []
_export, _both = exporters(__all__)


def _factory_result(values, dtype, device, requires_grad, out=None):
    """A host array as a tensor of dtype on device (the default device when None), or written
    into out= (resized silently, as PyTorch's factories resize theirs)."""
    from ._functions import _device_str, _factory_out, _finish
    t = _C.from_numpy(np.ascontiguousarray(values)).to(dtype)
    device = _device_str(device)
    t = t if device is None or device == "cpu" else t.to(device)
    return _finish(t, requires_grad) if out is None else _factory_out(t, out)


@_export
def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    """base ** (exponents from start to end), with PyTorch's kernel's arithmetic: start and end in
    the result's dtype, the exponents in double, each half stepped from its own end."""
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dtype = dtype or _C.get_default_dtype()
    first, last = np.array([start, end], dtype=_numpy_dtype(dtype, "logspace")).astype(np.float64)
    if steps == 1:
        exponents = np.array([builtins.float(start)])
    else:
        i = np.arange(steps, dtype=np.float64)
        step = (last - first) / (steps - 1)
        exponents = np.where(i < steps // 2, first + step * i, last - step * (steps - i - 1))
    return _factory_result(np.power(builtins.float(base), exponents), dtype, device, requires_grad, out)


def range(start, end, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False):
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).", UserWarning)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (step > 0 and start > end) or (step < 0 and start < end):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    dtype = dtype or _C.get_default_dtype()
    size = builtins.int((end - start) / step + 1)  # truncated, as PyTorch sizes it
    return _factory_result(start + step * np.arange(size, dtype=np.float64), dtype, device, requires_grad, out)


__all__.append("range")


def _window(name, build):
    """A window function: PyTorch's checks, lengths 0 and 1, and periodic windows as the first
    window_length values of the symmetric window one longer. build(n, k, *args) makes the
    symmetric window of n > 1 values from k = arange(n) in the window's dtype, with PyTorch's
    sequence of ops (so its roundings)."""
    def fn(window_length, periodic=True, *args, dtype=None, layout=None, device=None, requires_grad=False,
           pin_memory=False, **params):
        from ._functions import _device_str, _finish
        if window_length < 0:
            raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
        dtype = dtype or _C.get_default_dtype()
        if not dtype.is_floating_point:
            raise RuntimeError(f"{name} expects floating point dtypes, got: {dtype}")
        device = _device_str(device)
        if window_length <= 1:
            return _finish(_ops.ones([window_length], dtype=dtype, device=device), requires_grad)
        n = window_length + 1 if periodic else window_length
        window = build(n, _ops.arange(0, n, 1, dtype=dtype, device=device), *args, **params)
        return _finish(window.narrow(0, 0, window_length).contiguous(), requires_grad)
    fn.__name__ = name
    return _export(fn)


def _hamming(n, k, alpha=0.54, beta=0.46):
    return _ops.cos(k * (math.pi * 2.0 / (n - 1))) * -beta + alpha


def _blackman(n, k):
    x = k * (math.pi / (n - 1))
    return _ops.cos(x * 4) * 0.08 - _ops.cos(x * 2) * 0.5 + 0.42


def _bartlett(n, k):
    x = k * (2.0 / (n - 1))
    rising = ((n - 1) >> 1) + 1
    return _ops.cat([x.narrow(0, 0, rising), -x.narrow(0, rising, n - rising) + 2], 0)


def _i0_terms(beta):
    """How many terms of I0's power series reach double precision for arguments up to |beta|."""
    q, term, total, k = (beta / 2) ** 2, 1.0, 1.0, 0
    while term > 1e-17 * total or k < q ** 0.5:
        k += 1
        term *= q / (k * k)
        total += term
    return k


def _i0(x, terms):
    """The modified Bessel function I0 = sum over k of (x^2 / 4)^k / (k!)^2."""
    q = x * x * 0.25
    term = total = _ops.ones(list(x.shape), dtype=x.dtype, device=str(x.device))
    for k in builtins.range(1, terms + 1):
        term = term * q / (k * k)
        total = total + term
    return total


def _kaiser(n, k, beta=12.0):
    x = k.to(_C.float64)
    alpha = (n - 1) / 2.0
    ratio = (x - alpha) / alpha
    terms = _i0_terms(builtins.abs(beta))
    argument = _ops.sqrt(_ops.abs(1 - ratio * ratio)) * beta
    return (_i0(argument, terms) / _i0(_full_like(x, beta), terms)).to(k.dtype)


hamming_window = _window("hamming_window", _hamming)
hann_window = _window("hann_window", lambda n, k: _hamming(n, k, 0.5, 0.5))
blackman_window = _window("blackman_window", _blackman)
bartlett_window = _window("bartlett_window", _bartlett)
kaiser_window = _window("kaiser_window", _kaiser)
