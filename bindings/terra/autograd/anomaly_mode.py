"""torch.autograd's anomaly detection (engine/autograd/grad_mode.hpp, AnomalyMode): while it is on,
backward raises at the first graph node whose gradient has a NaN, naming the node (PyTorch also
prints the forward call's traceback; Terra does not). Process-wide, as PyTorch's."""
import functools
import warnings

from .. import _C


class set_detect_anomaly:
    """torch.autograd.set_detect_anomaly(mode, check_nan=True): takes effect when called; as a
    context manager, the previous setting comes back at exit."""

    def __init__(self, mode, check_nan=True):
        self.prev, self.prev_check_nan = _C._is_anomaly_enabled(), _C._is_anomaly_check_nan_enabled()
        _C._set_anomaly_enabled(bool(mode), bool(check_nan))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _C._set_anomaly_enabled(self.prev, self.prev_check_nan)
        return False


class detect_anomaly:
    """torch.autograd.detect_anomaly(check_nan=True): on inside the block or the decorated function."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                      "enabled for debugging.", stacklevel=2)

    def __enter__(self):
        self.prev, self.prev_check_nan = _C._is_anomaly_enabled(), _C._is_anomaly_check_nan_enabled()
        _C._set_anomaly_enabled(True, bool(self.check_nan))
        return self

    def __exit__(self, *exc):
        _C._set_anomaly_enabled(self.prev, self.prev_check_nan)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with self.__class__(self.check_nan):
                return fn(*args, **kwargs)

        return run


def is_anomaly_enabled():
    return _C._is_anomaly_enabled()
