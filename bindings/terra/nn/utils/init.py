"""skip_init (torch.nn.utils.init): a module built without its parameter initialization.

PyTorch builds the module on the meta device and then allocates empty storage; Terra has no
meta device, so the module is built on the requested device as usual: its values are then the
default initialization rather than uninitialized memory, which callers must not rely on either
way.
"""

import inspect

from ..modules.module import Module

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """module_cls(*args, **kwargs) whose parameters and buffers the caller will overwrite; the
    class must take a `device` argument, as PyTorch requires."""
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    kwargs.setdefault("device", "cpu")
    return module_cls(*args, **kwargs)
