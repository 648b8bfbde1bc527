"""repr(tensor) as PyTorch 1.13 prints it, character for character, and the print options
(terra.set_printoptions, terra._tensor_str.PRINT_OPTS) that steer it.

The logic follows torch/_tensor_str.py step by step (which values size the columns, when the
floats switch to scientific notation, where the summary `...` goes, when a suffix such as
`dtype=torch.float64` moves to a line of its own), working on the tensor's numpy copy rather
than on tensor ops: printing must not record ops in a trace or build autograd graphs.
"""
import math

import numpy as np

from . import _C, _public_name


class _PrinterOptions:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


PRINT_OPTS = _PrinterOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """torch.set_printoptions. A profile ("default", "short", "full") sets every option but
    sci_mode first; the other arguments then override it. sci_mode is always set: leaving it
    out restores the automatic choice, as in PyTorch."""
    if profile is not None:
        if profile == "default":
            PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 4, 1000, 3, 80
        elif profile == "short":
            PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 2, 1000, 2, 80
        elif profile == "full":
            PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 4, math.inf, 3, 80
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


class _Formatter:
    """One column width and notation for every element shown. For floats only the nonzero
    finite values decide them: nan, inf and zeros may come out wider or narrower than the
    column (PyTorch's `tensor([nan, inf, -inf, 1.])`)."""

    def __init__(self, values, floating):
        self.floating_dtype = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        if not floating:
            self.max_width = max([1] + [len(str(v)) for v in np.unique(values).tolist()])
            return
        values = values.astype(np.float64)
        nonzero_finite = values[np.isfinite(values) & (values != 0)]
        if nonzero_finite.size == 0:
            return  # as PyTorch: nor does PRINT_OPTS.sci_mode apply then
        abs_vals = np.abs(nonzero_finite)
        nz_min, nz_max = float(abs_vals.min()), float(abs_vals.max())
        distinct = np.unique(nonzero_finite).tolist()
        self.int_mode = bool(np.all(nonzero_finite == np.ceil(nonzero_finite)))
        precision = PRINT_OPTS.precision
        if self.int_mode:
            # Integral floats print as "3."; the +1 is that point.
            if nz_max / nz_min > 1000.0 or nz_max > 1.0e8:
                self.sci_mode = True
                self.max_width = max([1] + [len(f"{v:.{precision}e}") for v in distinct])
            else:
                self.max_width = max([1] + [len(f"{v:.0f}") + 1 for v in distinct])
        else:
            if nz_max / nz_min > 1000.0 or nz_max > 1.0e8 or nz_min < 1.0e-4:
                self.sci_mode = True
                self.max_width = max([1] + [len(f"{v:.{precision}e}") for v in distinct])
            else:
                self.max_width = max([1] + [len(f"{v:.{precision}f}") for v in distinct])
        if PRINT_OPTS.sci_mode is not None:
            self.sci_mode = PRINT_OPTS.sci_mode

    def width(self):
        return self.max_width

    def format(self, value):
        if self.floating_dtype:
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{PRINT_OPTS.precision}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{PRINT_OPTS.precision}f}"
        else:
            ret = str(value)
        return (self.max_width - len(ret)) * " " + ret


def _elided(n):
    return n > 2 * PRINT_OPTS.edgeitems


def _vector_str(arr, indent, summarize, formatter):
    element_length = formatter.width() + 2  # with the ", " between elements
    elements_per_line = max(1, int(math.floor((PRINT_OPTS.linewidth - indent) / element_length)))
    edge = PRINT_OPTS.edgeitems
    if summarize and _elided(arr.shape[0]):
        data = ([formatter.format(v) for v in arr[:edge].tolist()] + [" ..."]
                + [formatter.format(v) for v in arr[arr.shape[0] - edge:].tolist()])
    else:
        data = [formatter.format(v) for v in arr.tolist()]
    lines = [", ".join(data[i:i + elements_per_line]) for i in range(0, len(data), elements_per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(arr, indent, summarize, formatter):
    if arr.ndim == 0:
        return formatter.format(arr.item())
    if arr.ndim == 1:
        return _vector_str(arr, indent, summarize, formatter)
    n, edge = arr.shape[0], PRINT_OPTS.edgeitems
    if summarize and _elided(n):
        slices = ([_tensor_str_with_formatter(arr[i], indent + 1, summarize, formatter) for i in range(edge)]
                  + ["..."]
                  + [_tensor_str_with_formatter(arr[i], indent + 1, summarize, formatter) for i in range(n - edge, n)])
    else:
        slices = [_tensor_str_with_formatter(arr[i], indent + 1, summarize, formatter) for i in range(n)]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _summarized_data(arr):
    """The elements a summarized print shows (the edges of every dim), flattened."""
    if arr.ndim == 0:
        return arr.reshape(-1)
    edge = PRINT_OPTS.edgeitems
    if arr.ndim == 1:
        return np.concatenate([arr[:edge], arr[arr.shape[0] - edge:]]) if _elided(arr.shape[0]) else arr
    rows = range(arr.shape[0])
    if _elided(arr.shape[0]):
        rows = list(range(edge)) + list(range(arr.shape[0] - edge, arr.shape[0]))
    return np.concatenate([_summarized_data(arr[i]) for i in rows])


def _tensor_str(arr, indent, floating):
    if arr.size == 0:
        return "[]"
    summarize = arr.size > PRINT_OPTS.threshold
    formatter = _Formatter((_summarized_data(arr) if summarize else arr).reshape(-1), floating)
    return _tensor_str_with_formatter(arr, indent, summarize, formatter)


def _add_suffixes(tensor_str, suffixes, indent):
    """Each suffix goes on the last line unless that would pass linewidth; then on a new line
    under the first character after "tensor(". (PyTorch's count of the last line is two more
    than its length; kept, so that the wrapping point matches.)"""
    parts = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _is_parameter(t):
    try:
        from .nn.parameter import Parameter
    except ImportError:
        return False
    return isinstance(t, Parameter)


def tensor_repr(self, *, tensor_contents=None):
    is_parameter = _is_parameter(self)
    is_plain = type(self) is _C.Tensor or (is_parameter and type(self).__name__ == "Parameter")
    prefix = "tensor(" if is_plain else f"{type(self).__name__}("
    indent = len(prefix)
    dtype = self.dtype
    suffixes = []
    if self.device.type != "cpu":
        suffixes.append(f"device='{self.device}'")
    has_default_dtype = dtype in (_C.get_default_dtype(), _C.int64, _C.bool)
    if self.numel() == 0:
        # The shape unless it is (0,), as NumPy; and the dtype, which no element can suggest.
        if self.dim() != 1:
            suffixes.append(f"size={tuple(self.shape)}")
        if dtype != _C.get_default_dtype():
            suffixes.append(f"dtype={dtype!r}")
        tensor_str = "[]" if tensor_contents is None else tensor_contents
    else:
        if not has_default_dtype:
            suffixes.append(f"dtype={dtype!r}")
        if tensor_contents is None:
            arr = self.cpu().numpy(force=True)  # on the tensor itself, so a tracing session sees the read
            tensor_str = _tensor_str(arr, indent, dtype.is_floating_point)
        else:
            tensor_str = tensor_contents
    if self.grad_fn is not None:
        suffixes.append(f"grad_fn=<{self.grad_fn.name().rsplit('::', 1)[-1]}>")
    elif self.requires_grad:
        suffixes.append("requires_grad=True")
    out = _add_suffixes(prefix + tensor_str, suffixes, indent)
    if is_parameter:
        if not is_plain:
            out = f"Parameter({out})"
        out = "Parameter containing:\n" + out
    return out


def return_type_repr(self):
    """A torch.return_types structseq's repr: `torch.return_types.max(\\nvalues=...,\\nindices=...)`."""
    fields = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
    return f"{_public_name.qualified('return_types.' + type(self).__name__)}(\n{fields})"
