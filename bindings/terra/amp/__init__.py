"""terra.amp: PyTorch's automatic mixed precision API, for scripts that use it. Terra computes in
float32 and float64 only (no float16 or bfloat16), so:
- autocast (also terra.autocast, terra.cuda.amp.autocast, terra.cpu.amp.autocast) with
  enabled=False does nothing, as in PyTorch; enabled, it warns and the region runs in full
  precision, so its results differ from PyTorch's reduced-precision ones;
- GradScaler (terra.cuda.amp.GradScaler) is always disabled, as PyTorch disables it on a machine
  without CUDA: there is no float16 gradient to keep from underflowing. scale() returns its
  argument, step() calls optimizer.step(), get_scale() is 1.0 and state_dict() is empty. Enabled,
  it warns that it is disabled."""
import functools
import warnings


class autocast:
    """torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None): a context
    manager and decorator; see the module's docstring."""

    def __init__(self, device_type="cuda", dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device = device_type
        self.fast_dtype = dtype
        self._enabled = bool(enabled)
        if self._enabled:
            warnings.warn("terra.autocast: Terra has no float16 or bfloat16; the autocast region runs in full "
                          "precision", UserWarning, stacklevel=2)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return run


def _device_autocast(device_type, default_dtype):
    """torch.cuda.amp.autocast and torch.cpu.amp.autocast: autocast with the device fixed."""

    class device_autocast(autocast):
        __doc__ = f"torch.{device_type}.amp.autocast(enabled=True, dtype=torch.{default_dtype}, cache_enabled=True)."

        def __init__(self, enabled=True, dtype=None, cache_enabled=True):
            super().__init__(device_type, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    device_autocast.__name__ = device_autocast.__qualname__ = "autocast"
    return device_autocast


class GradScaler:
    """torch.cuda.amp.GradScaler, always disabled; see the module's docstring."""

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                 enabled=True):
        if enabled:
            warnings.warn("terra GradScaler is enabled, but Terra has no float16 gradients to scale. Disabling.",
                          UserWarning, stacklevel=2)

    def scale(self, outputs):
        return outputs

    def unscale_(self, optimizer):
        return None

    def step(self, optimizer, *args, **kwargs):
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None):
        return None

    def get_scale(self):
        return 1.0

    def is_enabled(self):
        return False

    def state_dict(self):
        return {}

    def load_state_dict(self, state_dict):
        return None
