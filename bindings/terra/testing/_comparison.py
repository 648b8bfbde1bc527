"""assert_close and the deprecated assert_allclose, with PyTorch 1.13's rules
(torch/testing/_comparison.py): inputs pair up through nested sequences and mappings; each pair is
None, bools, Python/numpy numbers or tensor-likes (tensors, numpy arrays); tensors are checked for
shape, layout, stride, device and dtype, then their values compared on the host, in float64
(int64 for integers and bool) as PyTorch promotes them, with torch.isclose's formula."""
import cmath
import collections.abc
import warnings

import numpy as np

from .. import _C, as_tensor, tensor

# {dtype: (rtol, atol)}; other dtypes (integers, bool) compare exactly by default.
_DTYPE_TOLERANCES = {_C.float32: (1.3e-6, 1e-5), _C.float64: (1e-7, 1e-7)}
# A Python number is compared with the tolerances of the dtype PyTorch gives it (int64, float64,
# complex128).
_NUMBER_TOLERANCES = {int: (0.0, 0.0), float: (1e-7, 1e-7), complex: (1e-7, 1e-7)}
# For Terra's five dtypes, torch.promote_types is the larger of the two in this order.
_PROMOTION_ORDER = [_C.bool, _C.int32, _C.int64, _C.float32, _C.float64]
_NUMPY_DTYPES = {_C.bool: np.bool_, _C.int32: np.int32, _C.int64: np.int64, _C.float32: np.float32,
                 _C.float64: np.float64}


class _Mismatch(Exception):
    """A failed check: the exception type to raise, its message, and where the item sits in
    nested inputs."""

    def __init__(self, error_type, message, path=()):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.path = path

    def to_error(self, msg=None):
        if isinstance(msg, str):
            return self.error_type(msg)
        message = self.message
        if self.path:
            message += f"\n\nThe failure occurred for item {''.join(str([item]) for item in self.path)}"
        return self.error_type(msg(message) if callable(msg) else message)


class _Unsupported(Exception):
    """Raised by a pair maker that cannot handle the inputs: the next one is tried."""


def _tolerances(defaults, rtol, atol, path):
    """The caller's tolerances, or the loosest defaults of the inputs' dtypes."""
    if (rtol is None) != (atol is None):
        raise _Mismatch(ValueError, "Both 'rtol' and 'atol' must be either specified or omitted, "
                                    f"but got no {'rtol' if rtol is None else 'atol'}.", path)
    if rtol is not None:
        return rtol, atol
    rtols, atols = zip(*defaults)
    return max(rtols), max(atols)


def _diff_line(kind, diff, index, tol, equality):
    line = f"{kind.title()} difference: {diff}" if index is None else \
        f"Greatest {kind} difference: {diff} at index {index}"
    return line if equality else line + f" (up to {tol} allowed)"


def _mismatch_message(identifier, abs_diff, rel_diff, rtol, atol, abs_index=None, rel_index=None, extra=None):
    equality = rtol == 0 and atol == 0
    lines = [f"{identifier} are not {'equal' if equality else 'close'}!", ""]
    if extra:
        lines.append(extra)
    lines.append(_diff_line("absolute", abs_diff, abs_index, atol, equality))
    lines.append(_diff_line("relative", rel_diff, rel_index, rtol, equality))
    return "\n".join(lines)


def _scalar_mismatch_message(actual, expected, rtol, atol):
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch_message("Scalars", abs_diff, rel_diff, rtol, atol)


# ---- the pairs: each maker returns a function doing the comparison, or raises _Unsupported ------

def _none_pair(actual, expected, path, **_):
    if actual is not None and expected is not None:
        raise _Unsupported

    def compare():
        if not (actual is None and expected is None):
            raise _Mismatch(AssertionError, f"None mismatch: {actual} is not {expected}", path)
    return compare


def _boolean_pair(actual, expected, path, **_):
    if not all(isinstance(x, (bool, np.bool_)) for x in (actual, expected)):
        raise _Unsupported
    actual, expected = bool(actual), bool(expected)

    def compare():
        if actual is not expected:
            raise _Mismatch(AssertionError, f"Booleans mismatch: {actual} is not {expected}", path)
    return compare


def _number_pair(actual, expected, path, rtol, atol, equal_nan, check_dtype, **_):
    if not all(isinstance(x, (int, float, complex, np.number)) for x in (actual, expected)):
        raise _Unsupported
    actual, expected = [x.item() if isinstance(x, np.number) else x for x in (actual, expected)]
    rtol, atol = _tolerances([_NUMBER_TOLERANCES.get(type(x), (0.0, 0.0)) for x in (actual, expected)],
                             rtol, atol, path)

    def compare():
        if check_dtype and type(actual) is not type(expected):
            raise _Mismatch(AssertionError, f"The (d)types do not match: {type(actual)} != {type(expected)}.", path)
        if actual == expected or (equal_nan and cmath.isnan(actual) and cmath.isnan(expected)):
            return
        abs_diff = abs(actual - expected)
        if cmath.isfinite(abs_diff) and abs_diff <= atol + rtol * abs(expected):
            return
        raise _Mismatch(AssertionError, _scalar_mismatch_message(actual, expected, rtol, atol), path)
    return compare


def _as_tensor(tensor_like):
    if isinstance(tensor_like, _C.Tensor):
        return tensor_like
    try:
        return as_tensor(tensor_like)
    except Exception:
        raise _Unsupported from None


def _tensor_pair(actual, expected, path, rtol, atol, allow_subclasses, **checks):
    if not (isinstance(actual, type(expected)) or isinstance(expected, type(actual))):
        raise _Unsupported
    if not allow_subclasses and type(actual) is not type(expected):
        raise _Unsupported
    actual, expected = _as_tensor(actual), _as_tensor(expected)
    rtol, atol = _tolerances([_DTYPE_TOLERANCES.get(t.dtype, (0.0, 0.0)) for t in (actual, expected)],
                             rtol, atol, path)
    return lambda: _compare_tensors(actual, expected, path, rtol, atol, **checks)


_PAIR_MAKERS = (_none_pair, _boolean_pair, _number_pair, _tensor_pair)


# ---- tensors --------------------------------------------------------------------------------------

def _compare_tensors(actual, expected, path, rtol, atol, equal_nan, check_device, check_dtype, check_layout,
                     check_stride):
    def mismatch(attribute, actual_value, expected_value):
        return _Mismatch(AssertionError, f"The values for attribute '{attribute}' do not match: "
                                         f"{actual_value} != {expected_value}.", path)

    if actual.shape != expected.shape:
        raise mismatch("shape", actual.shape, expected.shape)
    if actual.layout != expected.layout:
        if check_layout:
            raise mismatch("layout", actual.layout, expected.layout)
    elif check_stride and actual.stride() != expected.stride():
        raise mismatch("stride()", actual.stride(), expected.stride())
    if check_device and actual.device != expected.device:
        raise mismatch("device", actual.device, expected.device)
    if check_dtype and actual.dtype != expected.dtype:
        raise mismatch("dtype", actual.dtype, expected.dtype)
    a, b = _host_values(actual, expected)
    matches = _isclose(a, b, rtol, atol, equal_nan)
    if matches.all():
        return
    if a.ndim == 0:
        message = _scalar_mismatch_message(a.item(), b.item(), rtol, atol)
    else:
        message = _tensor_mismatch_message(a, b, matches, rtol, atol)
    raise _Mismatch(AssertionError, message, path)


def _host_values(actual, expected):
    """Both tensors as numpy arrays in their common dtype (torch.promote_types), then widened to
    float64 (floating point) or int64 (integers and bool) as PyTorch compares them."""
    common = max(actual.dtype, expected.dtype, key=_PROMOTION_ORDER.index)
    arrays = [t.detach().cpu().numpy().astype(_NUMPY_DTYPES[common]) for t in (actual, expected)]
    wide = np.float64 if common.is_floating_point else np.int64
    return [array.astype(wide) for array in arrays]


def _isclose(a, b, rtol, atol, equal_nan):
    """torch.isclose (aten/src/ATen/native/TensorCompare.cpp) on float64 or int64 arrays."""
    close = a == b
    floating = a.dtype == np.float64
    if equal_nan and floating:
        close |= np.isnan(a) & np.isnan(b)
    if rtol == 0 and atol == 0:
        return close
    with np.errstate(invalid="ignore", over="ignore"):
        if floating:
            allowed = atol + np.abs(rtol * b)
            error = np.abs(a - b)
        else:
            # PyTorch computes an integer tensor's allowed error in the default dtype, float32.
            allowed = np.float32(atol) + np.abs(np.float32(rtol) * b.astype(np.float32))
            error = np.abs(a - b).astype(np.float32)
        close |= np.isfinite(error) & (error <= allowed)
    return close


def _tensor_mismatch_message(a, b, matches, rtol, atol):
    total = int((~matches).sum())
    extra = f"Mismatched elements: {total} / {matches.size} ({total / matches.size:.1%})"
    matches = matches.ravel()
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        abs_diff = np.abs(a.ravel() - b.ravel())
        abs_diff[matches] = 0
        if abs_diff.dtype == np.int64:
            # Integer true division gives float32 in PyTorch.
            rel_diff = abs_diff.astype(np.float32) / np.abs(b.ravel()).astype(np.float32)
        else:
            rel_diff = abs_diff / np.abs(b.ravel())
        rel_diff[matches] = 0
    # np.argmax, like torch.max(dim) on the CPU, gives the first greatest element or the first NaN.
    abs_index, rel_index = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))
    return _mismatch_message("Tensor-likes", abs_diff[abs_index].item(), rel_diff[rel_index].item(), rtol, atol,
                             _unravel(abs_index, a.shape), _unravel(rel_index, a.shape), extra)


def _unravel(flat_index, shape):
    return tuple(int(i) for i in np.unravel_index(flat_index, shape))


# ---- pairing nested inputs -------------------------------------------------------------------------

def _is_sequence(x):
    return isinstance(x, collections.abc.Sequence) and not isinstance(x, str)


def _pairs(actual, expected, path, options):
    """The comparisons of the leaves of two (possibly nested) inputs, in order."""
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError,
                            f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", path)
        return [pair for i in range(len(actual)) for pair in _pairs(actual[i], expected[i], (*path, i), options)]
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        actual_keys, expected_keys = set(actual.keys()), set(expected.keys())
        if actual_keys != expected_keys:
            raise _Mismatch(AssertionError, "The keys of the mappings do not match:\n"
                                            f"Missing keys in the actual mapping: {sorted(expected_keys - actual_keys)}\n"
                                            f"Additional keys in the actual mapping: "
                                            f"{sorted(actual_keys - expected_keys)}", path)
        try:  # the first failure is reported: a sorted order makes it deterministic
            keys = sorted(actual_keys)
        except Exception:
            keys = actual_keys
        return [pair for key in keys for pair in _pairs(actual[key], expected[key], (*path, key), options)]
    for make_pair in _PAIR_MAKERS:
        try:
            return [make_pair(actual, expected, path, **options)]
        except _Unsupported:
            continue
    raise _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type {type(actual)} "
                               f"and {type(expected)}.", path)


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """torch.testing.assert_close: raises AssertionError unless `actual` and `expected` are close,
    |actual - expected| <= atol + rtol * |expected| elementwise (infinities only equal to
    themselves, NaN only to NaN with equal_nan), with default tolerances from the dtypes
    (float32: rtol 1.3e-6, atol 1e-5; float64: 1e-7, 1e-7; integers and bool: exact). Tensors must
    also agree in shape, and, when checked, device, dtype, layout and stride. `msg` replaces the
    message (a str) or is called with it (a callable)."""
    __tracebackhide__ = True
    options = dict(rtol=rtol, atol=atol, equal_nan=equal_nan, allow_subclasses=allow_subclasses,
                   check_device=check_device, check_dtype=check_dtype, check_layout=check_layout,
                   check_stride=check_stride)
    try:
        comparisons = _pairs(actual, expected, (), options)
    except _Mismatch as mismatch:
        raise mismatch.to_error() from None
    for compare in comparisons:
        try:
            compare()
        except _Mismatch as mismatch:
            raise mismatch.to_error(msg) from None


_ALLCLOSE_TOLERANCES = {_C.float32: (1e-4, 1e-5), _C.float64: (1e-5, 1e-8)}


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """torch.testing.assert_allclose (deprecated since PyTorch 1.12): assert_close without the dtype
    check, with NaNs equal and looser default tolerances; non-tensors become tensors (`expected`
    in `actual`'s dtype). Warns FutureWarning when the inputs are close."""
    __tracebackhide__ = True
    if not isinstance(actual, _C.Tensor):
        actual = tensor(actual)
    if not isinstance(expected, _C.Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        defaults = [_ALLCLOSE_TOLERANCES.get(t.dtype, (0.0, 0.0)) for t in (actual, expected)]
        rtol, atol = max(d[0] for d in defaults), max(d[1] for d in defaults)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True,
                 check_dtype=False, check_stride=False, msg=msg or None)
    warnings.warn("terra.testing.assert_allclose() is deprecated since 1.12 and will be removed in 1.14. "
                  "Use terra.testing.assert_close() instead. For detailed upgrade instructions see "
                  "https://github.com/pytorch/pytorch/issues/61844.", FutureWarning)
