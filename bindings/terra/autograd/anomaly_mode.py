"""torch.autograd's anomaly detection switches, for scripts that set them. Terra's backward has no
anomaly checks: turning them on warns and changes nothing else (is_anomaly_enabled() says False)."""
import warnings


def _warn_if_on(mode):
    if mode:
        warnings.warn("terra.autograd: anomaly detection is not implemented; backward runs without its checks",
                      UserWarning, stacklevel=3)


class set_detect_anomaly:
    """torch.autograd.set_detect_anomaly(mode, check_nan=True): takes effect when called, and can be
    used as a context manager."""

    def __init__(self, mode, check_nan=True):
        _warn_if_on(bool(mode))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class detect_anomaly(set_detect_anomaly):
    """torch.autograd.detect_anomaly(check_nan=True): a context manager and decorator."""

    def __init__(self, check_nan=True):
        super().__init__(True, check_nan)

    def __call__(self, fn):
        def run(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return run


def is_anomaly_enabled():
    return False
