"""PyTorch 1.13's elementwise and view-like functions that Terra composes from registry ops:
acosh, angle, the conjugation no-ops of real tensors, nextafter, renorm, arctan2, narrow_copy,
new_empty_strided (terra.empty_strided), the unsafe_ splits and adjoint/mH.

Terra has real dtypes only, so conj, resolve_conj and resolve_neg return their input and is_conj,
is_neg are False. nextafter steps by one ulp found with frexp (Terra has no view(dtype)); like
PyTorch's it has no gradient, so its result never requires grad.
"""
import math

from . import _C
from ._C import _ops
from ._math_functions import _float_of
from ._more_functions import frexp
from ._shape_functions import _wrap_dim, exporters

Tensor = _C.Tensor

__all__ = []
_export, _both = exporters(__all__)

# acosh(x) = log(x) + log(2) to rounding beyond 2^28 (the form below would square x there).
_ACOSH_LARGE = 2.0 ** 28
_LOG2 = math.log(2.0)


def _floating(input):
    return input if input.is_floating_point() else input.to(_float_of(input))


def _into(out, r, name="out"):
    if out is None:
        return r
    from ._functions import _write_out
    return _write_out(name, r, out)


@_both
def acosh(input, *, out=None):
    """log1p(t + sqrt(t (t + 2))) with t = x - 1: accurate near 1, NaN below it."""
    x = _floating(input)
    large = x > _ACOSH_LARGE
    small_x = _ops.where(large, _ops.full([], 2.0, dtype=x.dtype), x)
    t = small_x - 1
    near = _ops.log1p(t + _ops.sqrt(t * (t + 2)))
    big_x = _ops.where(large, x, _ops.full([], _ACOSH_LARGE, dtype=x.dtype))
    r = _ops.where(large, _ops.log(big_x) + _LOG2, near)
    return _into(out, r, "acosh")


def _both_named(name, fn):
    """_both for a function defined under another name (aliases and one-liners)."""
    fn.__name__ = fn.__qualname__ = name
    return _both(fn)


arccosh = _both_named("arccosh", lambda input, *, out=None: acosh(input, out=out))


@_both
def angle(input, *, out=None):
    """The argument of a real number: pi below 0, 0 elsewhere, NaN at NaN (gradient 0)."""
    x = _floating(input)
    zero = _ops.zeros([], dtype=x.dtype)
    r = _ops.where(x < 0, _ops.full([], math.pi, dtype=x.dtype), zero)
    return _into(out, _ops.where(x != x, x, r), "angle")


@_both
def conj(input):
    return input


resolve_conj = _both_named("resolve_conj", lambda input: input)
resolve_neg = _both_named("resolve_neg", lambda input: input)
is_conj = _both_named("is_conj", lambda input: False)
is_neg = _both_named("is_neg", lambda input: False)

# The exponent of the smallest subnormal and of the ulp at exponent e (mantissa in [0.5, 1)).
_TINY_EXPONENT = {_C.float64: -1074, _C.float32: -149}
_MANTISSA_BITS = {_C.float64: 53, _C.float32: 24}


@_both
def nextafter(input, other, *, out=None):
    """The next representable number after input towards other (other itself where they are equal)."""
    if not (input.is_floating_point() and (not isinstance(other, Tensor) or other.is_floating_point())):
        raise RuntimeError("\"nextafter_cpu\" not implemented for 'Long'")
    x = input.detach()
    y = other.detach() if isinstance(other, Tensor) else _ops.full([], other, dtype=x.dtype)
    mantissa, exponent = frexp(x)
    # Towards zero from a power of two the spacing halves.
    toward_zero = (y - x) * x < 0
    exponent = exponent - (toward_zero & (_ops.abs(mantissa) == 0.5)).to(exponent.dtype)
    tiny = _TINY_EXPONENT[x.dtype]
    spacing = _ops.pow(_ops.full([], 2.0, dtype=x.dtype),
                       (exponent - _MANTISSA_BITS[x.dtype]).clamp(min=tiny).to(x.dtype))
    spacing = _ops.where(x == 0, _ops.full([], 2.0 ** tiny, dtype=x.dtype), spacing)
    step = _ops.where(y > x, spacing, -spacing)
    r = _ops.where(x == y, y, x + step)
    r = _ops.where((x != x) | (y != y), _ops.full([], math.nan, dtype=x.dtype), r)
    return _into(out, r, "nextafter")


@_both
def renorm(input, p, dim, maxnorm, *, out=None):
    """Each slice along dim whose p-norm exceeds maxnorm scaled to maxnorm (by maxnorm / (norm + 1e-7), as PyTorch)."""
    d = _wrap_dim(dim, input.dim(), "renorm")
    others = [i for i in range(input.dim()) if i != d]
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    norms = input.norm(p, dim=others, keepdim=True) if others else input.abs()
    scale = _ops.where(norms > maxnorm, maxnorm / (norms + 1e-7), _ops.ones([], dtype=norms.dtype))
    return _into(out, input * scale, "renorm")


@_both
def arctan2(input, other, *, out=None):
    return _into(out, _ops.atan2(input, other), "arctan2")


@_both
def narrow_copy(input, dim, start, length):
    return input.narrow(dim, start, length).clone()


@_both
def adjoint(input):
    return input.transpose(-2, -1)


def _new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False, **kwargs):
    from ._functions import empty_strided
    return empty_strided(size, stride, dtype=self.dtype if dtype is None else dtype,
                         device=self.device if device is None else device, requires_grad=requires_grad)


Tensor.new_empty_strided = _new_empty_strided
if not hasattr(Tensor, "mH"):
    Tensor.mH = property(lambda self: self.transpose(-2, -1))

# PyTorch's unsafe_ forms skip its view bookkeeping; Terra's splits are the same op.
unsafe_chunk = _both_named("unsafe_chunk", lambda input, chunks, dim=0: input.chunk(chunks, dim))
unsafe_split = _both_named("unsafe_split", lambda input, split_size, dim=0: input.split(split_size, dim))
unsafe_split_with_sizes = _both_named("unsafe_split_with_sizes",
                                      lambda input, split_sizes, dim=0: input.split(list(split_sizes), dim))
