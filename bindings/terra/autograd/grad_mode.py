"""no_grad, enable_grad, set_grad_enabled, inference_mode: context managers and decorators."""
import functools

from .. import _C


class _GradModeContext:
    _mode = True

    def __enter__(self):
        self._prev = _C.is_grad_enabled()
        _C._set_grad_enabled(self._mode)
        return self

    def __exit__(self, *exc):
        _C._set_grad_enabled(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper

    def clone(self):
        return self.__class__()


class _NoArgumentContext(_GradModeContext):
    """`@no_grad()` and, as PyTorch 2 allows, bare `@no_grad`: called on a function, the class
    returns the decorated function (PyTorch 1.13 raises a TypeError there)."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments, or a function to decorate")
        return cls()(orig_func)

    def __init__(self, orig_func=None):
        pass


class no_grad(_NoArgumentContext):
    _mode = False


class enable_grad(_NoArgumentContext):
    _mode = True


# Whether an inference_mode(True) block is running (torch.is_inference_mode_enabled()). Terra's
# inference mode is no_grad: its tensors are not marked, so Tensor.is_inference() stays False.
_inference_mode_enabled = False


def is_inference_mode_enabled():
    return _inference_mode_enabled


class inference_mode(_GradModeContext):
    def __init__(self, mode=True):
        self._mode = not mode
        self._inference = bool(mode)

    def __enter__(self):
        global _inference_mode_enabled
        self._prev_inference = _inference_mode_enabled
        _inference_mode_enabled = self._inference
        return super().__enter__()

    def __exit__(self, *exc):
        global _inference_mode_enabled
        _inference_mode_enabled = self._prev_inference
        return super().__exit__(*exc)

    def __call__(self, fn):
        inference = self._inference

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(inference):
                return fn(*args, **kwargs)

        return wrapper

    def clone(self):
        return inference_mode(self._inference)


class set_grad_enabled(_GradModeContext):
    def __init__(self, mode):
        self._prev = _C.is_grad_enabled()
        self._mode = bool(mode)
        _C._set_grad_enabled(self._mode)  # effective immediately, like torch's

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _C._set_grad_enabled(self._prev)
        return False

    def clone(self):
        return set_grad_enabled(self._mode)
