"""nn.parameter's UninitializedParameter and UninitializedBuffer: the placeholders a lazy module
holds until its first forward knows the shapes (PyTorch 1.13's API).

Each holds an empty tensor that carries the device and dtype to materialize with; conversions
(`to`, `double`, ...) keep the placeholder. `materialize(shape)` gives the object its data and
turns it, in place, into what it stands for: a Parameter, or a plain Tensor (the buffer has
Tensor's layout, `__slots__ = ()`, so that its class can become Tensor). The shape of a
placeholder raises, as in PyTorch. Exported through nn.parameter and nn.
"""

import terra
from .._C import Tensor
from .parameter import Parameter

__all__ = ["UninitializedParameter", "UninitializedBuffer", "is_lazy"]


class UninitializedTensorMixin:
    __slots__ = ()
    cls_to_become = None

    def materialize(self, shape, device=None, dtype=None):
        """Gives the placeholder empty data of `shape` (its device and dtype unless given) and
        makes it a `cls_to_become`."""
        if device is None:
            device = self.data.device
        if dtype is None:
            dtype = self.data.dtype
        self.data = terra.empty(shape, device=device, dtype=dtype)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes.")

    def share_memory_(self):
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
            "initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self):
        return f"<{self.__class__.__name__}>"

    __str__ = __repr__  # Tensor's own __str__ would print the empty placeholder data

    def __reduce_ex__(self, proto):
        return (self.__class__, (self.requires_grad,))

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = self.__class__(self.requires_grad, self.data.device, self.data.dtype)
        return memo[id(self)]


def _keeps_placeholder(name):
    """Tensor.<name> for a placeholder: a placeholder of the converted device and dtype
    (what is not a tensor, such as `type()`'s name, as Tensor returns it)."""
    convert = getattr(Tensor, name)

    def method(self, *args, **kwargs):
        data = convert(self.data, *args, **kwargs)
        if not isinstance(data, Tensor):
            return data
        return self.__class__(self.requires_grad, data.device, data.dtype)

    method.__name__ = name
    return method


for _name in ("to", "cpu", "cuda", "double", "float", "type"):
    setattr(UninitializedTensorMixin, _name, _keeps_placeholder(_name))


def is_lazy(param):
    return isinstance(param, UninitializedTensorMixin)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape is not known yet; becomes a Parameter when materialized."""

    cls_to_become = Parameter

    def __init__(self, requires_grad=True, device=None, dtype=None):
        super().__init__(terra.empty(0, device=device, dtype=dtype), requires_grad)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet; becomes a Tensor when materialized."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad=False, device=None, dtype=None):
        super().__init__(terra.empty(0, device=device, dtype=dtype))
        self.requires_grad_(requires_grad)
