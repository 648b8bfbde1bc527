"""gradcheck: autograd's gradients against central finite differences (float64 inputs)."""
import numpy as np

from .. import _C


def _flat_view(t):
    return t.detach().numpy().reshape(-1) if t.is_contiguous() else None


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **_):
    from . import grad as autograd_grad
    if isinstance(inputs, _C.Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    wrt = [x for x in inputs if isinstance(x, _C.Tensor) and x.requires_grad]
    out = func(*inputs)
    outputs = out if isinstance(out, (tuple, list)) else (out,)
    outputs = [o for o in outputs if isinstance(o, _C.Tensor) and o.requires_grad]
    rng = np.random.default_rng(0)
    for k, o in enumerate(outputs):
        w = _C._tensor_from_numpy(rng.uniform(0.5, 1.5, size=tuple(o.shape)).astype(o.numpy(force=True).dtype))
        analytic = autograd_grad([o], wrt, [w], retain_graph=True, allow_unused=True)

        def contracted():
            with _C_no_grad():
                r = func(*inputs)
                r = r if isinstance(r, (tuple, list)) else (r,)
                r = [x for x in r if isinstance(x, _C.Tensor) and x.requires_grad or x.is_floating_point()][k]
                return float((r.detach().numpy() * w.numpy()).sum())

        for i, x in enumerate(wrt):
            if x.dtype is not _C.float64:
                raise ValueError("gradcheck expects float64 inputs")
            data = x.detach().numpy()
            flat = data.reshape(-1) if data.flags.c_contiguous else None
            if flat is None:
                raise ValueError("gradcheck expects contiguous inputs")
            numeric = np.zeros_like(flat)
            for j in range(flat.size):
                orig = flat[j]
                flat[j] = orig + eps
                up = contracted()
                flat[j] = orig - eps
                down = contracted()
                flat[j] = orig
                numeric[j] = (up - down) / (2 * eps)
            a = np.zeros_like(flat) if analytic[i] is None else analytic[i].numpy().reshape(-1)
            if not np.allclose(a, numeric, atol=atol, rtol=rtol):
                if raise_exception:
                    bad = int(np.argmax(np.abs(a - numeric)))
                    raise RuntimeError(f"Jacobian mismatch for output {k} with respect to input {i}: element {bad}: "
                                       f"numerical {numeric[bad]} vs analytical {a[bad]}")
                return False
    return True


class _C_no_grad:
    def __enter__(self):
        self.prev = _C.is_grad_enabled()
        _C._set_grad_enabled(False)

    def __exit__(self, *exc):
        _C._set_grad_enabled(self.prev)
