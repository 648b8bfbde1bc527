"""repr(tensor) in PyTorch's style: tensor([[1.0000, 2.5000], ...], dtype=..., requires_grad=True)."""
import math

import numpy as np

from . import _C

_EDGE = 3
_THRESHOLD = 1000
_LINEWIDTH = 80


class _Formatter:
    def __init__(self, values, floating):
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        finite = values[np.isfinite(values)] if floating else values
        if not floating:
            self.width = max((len(str(v)) for v in values.tolist()), default=1)
            return
        if finite.size == 0:
            self.width = max((len(self._special(v)) for v in values.tolist()), default=3)
            return
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        abs_nz = np.abs(finite[finite != 0])
        if abs_nz.size:
            mx, mn = float(abs_nz.max()), float(abs_nz.min())
            if self.int_mode:
                self.sci_mode = mx > 1e8
            else:
                self.sci_mode = mx / mn > 1000.0 or mx > 1e8 or mn < 1e-4
        self.width = max(len(self.format(v)) for v in values.tolist())

    @staticmethod
    def _special(v):
        if math.isnan(v):
            return "nan"
        return "inf" if v > 0 else "-inf"

    def format(self, v):
        if not self.floating:
            return str(v)
        if not math.isfinite(v):
            return self._special(v)
        if self.sci_mode:
            return f"{v:.4e}"
        if self.int_mode:
            return f"{v:.0f}."
        return f"{v:.4f}"

    def padded(self, v):
        return self.format(v).rjust(self.width)


def _summarized(arr, summarize):
    """Values shown (the edges of each dim when summarizing)."""
    if not summarize or arr.ndim == 0:
        return arr.reshape(-1)
    parts = []

    def walk(a):
        if a.ndim == 1:
            parts.append(a if a.shape[0] <= 2 * _EDGE else np.concatenate([a[:_EDGE], a[-_EDGE:]]))
            return
        rows = range(a.shape[0]) if a.shape[0] <= 2 * _EDGE else list(range(_EDGE)) + list(
            range(a.shape[0] - _EDGE, a.shape[0]))
        for i in rows:
            walk(a[i])

    walk(arr)
    return np.concatenate(parts) if parts else arr.reshape(-1)


def _format_array(arr, fmt, indent, summarize, is_bool):
    if arr.ndim == 0:
        return ("True" if arr.item() else "False") if is_bool else fmt.format(arr.item())
    if arr.ndim == 1:
        items = [("True" if v else "False").rjust(5) if is_bool else fmt.padded(v) for v in arr.tolist()]
        if summarize and arr.shape[0] > 2 * _EDGE:
            items = items[:_EDGE] + ["...".rjust(len(items[0]))] + items[-_EDGE:]
        per_line = max(1, (_LINEWIDTH - indent) // (len(items[0]) + 2)) if items else 1
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = list(range(arr.shape[0]))
    elided = summarize and arr.shape[0] > 2 * _EDGE
    if elided:
        rows = rows[:_EDGE] + [None] + rows[-_EDGE:]
    sep = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
    parts = ["..." if r is None else _format_array(arr[r], fmt, indent + 1, summarize, is_bool) for r in rows]
    return "[" + sep.join(parts) + "]"


def tensor_repr(self, *, tensor_contents=None):
    arr = self.cpu().numpy(force=True)  # on the tensor itself, so a tracing session sees the read
    dtype = self.dtype
    floating = dtype.is_floating_point
    is_bool = dtype is _C.bool
    prefix = "tensor("
    summarize = arr.size > _THRESHOLD
    suffixes = []
    if arr.size == 0:
        body = "[]"
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
    else:
        shown = _summarized(arr, summarize)
        fmt = _Formatter(shown.astype(np.float64) if floating else shown, floating)
        body = _format_array(arr, fmt, len(prefix), summarize, is_bool)
    if self.device.type != "cpu":
        suffixes.append(f"device='{self.device}'")
    if dtype not in (_C.get_default_dtype(), _C.int64, _C.bool) or (arr.size == 0 and dtype is not _C.get_default_dtype()):
        suffixes.append(f"dtype={dtype!r}")
    if self.grad_fn is not None:
        suffixes.append(f"grad_fn=<{self.grad_fn.name()}>")
    elif self.requires_grad:
        suffixes.append("requires_grad=True")
    out = prefix + body + "".join(", " + s for s in suffixes) + ")"
    if type(self).__name__ == "Parameter":
        return "Parameter containing:\n" + out
    return out
