"""nn.Parameter: a Tensor subclass that Module registers as a learnable weight.

A Parameter aliases the data of the tensor it is built from (the C++ Tensor type supports Python
subclasses whose `__init__` takes the tensor to alias), requires grad by default, prints as
"Parameter containing:" (Tensor's repr does that by class name) and survives pickle and deepcopy as a Parameter.
"""

from collections import OrderedDict

import terra
from .._C import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = terra.empty(0)
        super().__init__(data.detach())
        self.requires_grad_(requires_grad)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.data.clone(), self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (self.data, self.requires_grad, OrderedDict()))


def _rebuild_parameter(data, requires_grad, backward_hooks):
    return Parameter(data, requires_grad)


from ._uninitialized import UninitializedBuffer, UninitializedParameter, is_lazy  # noqa: E402

__all__ += ["UninitializedParameter", "UninitializedBuffer", "is_lazy"]
