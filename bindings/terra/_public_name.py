"""The package name Terra's reprs show: "terra", or "torch" once `terra run --as-torch` has made
`import torch` resolve to terra (_torch_alias.install() calls use("torch")), so that a script's
`print(x.shape)`, `print(x.dtype)` and `x.type()` read as they do under PyTorch.

dtype's own __repr__ comes from the C++ module and always says "terra."; install_dtype_repr()
replaces it with one that follows the public name. Code that needs a dtype's bare name
("float32") calls dtype_name() rather than cutting up repr().
"""

from . import _C

package = "terra"

_c_dtype_repr = _C.dtype.__repr__


def use(name):
    global package
    package = name


def dtype_name(dt):
    """'float32' for terra.float32, whatever the public name."""
    return _c_dtype_repr(dt).rpartition(".")[2]


def qualified(name):
    """'terra.Size', or 'torch.Size' under --as-torch."""
    return f"{package}.{name}"


class NamedConstant:
    """A module-level singleton shown as terra.<name> (torch.<name> under --as-torch) and pickled
    by that name, which the subclass's module must define (terra.strided, terra.channels_last)."""

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return qualified(self._name)

    def __reduce__(self):
        return self._name


def install_dtype_repr():
    _C.dtype.__repr__ = lambda dt: qualified(dtype_name(dt))
