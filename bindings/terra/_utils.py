"""The rebuild functions PyTorch checkpoints name (`torch._utils._rebuild_tensor_v2`, ...), as
Terra's: a checkpoint's pickle calls them to make its tensors and Parameters (the reader maps
`torch._utils` onto this module), and Terra's writer names them so that PyTorch calls its own.

A storage argument is a TypedStorage over a 1-D tensor holding the whole storage; each tensor is
an as_strided window on it, so tensors saved over one storage share memory once loaded.
"""
from . import _C
from ._C import _ops


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _ops.as_strided(storage._tensor, list(size), list(stride), storage_offset)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks):
    # backward_hooks is always empty in PyTorch's files (hooks are not saved); it is ignored.
    tensor = _rebuild_tensor(storage, storage_offset, size, stride)
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


def _rebuild_parameter(data, requires_grad, backward_hooks):
    from .nn.parameter import Parameter
    return Parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    param = _rebuild_parameter(data, requires_grad, backward_hooks)
    _set_obj_state(param, state)
    return param


def _rebuild_from_type_v2(func, new_type, args, state):
    """A Tensor subclass, or a Tensor with attributes of its own (torch._tensor's function)."""
    ret = func(*args)
    if new_type is not _C.Tensor and type(ret) is not new_type:
        ret = new_type(ret)  # Terra's Tensor subclasses alias the tensor given to __init__
    if getattr(type(ret), "__setstate__", _C.Tensor.__setstate__) is not _C.Tensor.__setstate__:
        ret.__setstate__(state)
    else:
        _set_obj_state(ret, state)
    return ret


def _get_obj_state(obj):
    """What PyTorch saves besides the data: the instance __dict__ (and slots, as a pair)."""
    state = dict(getattr(obj, "__dict__", None) or {})
    slots = {name: getattr(obj, name) for cls in type(obj).__mro__
             for name in getattr(cls, "__slots__", ()) if isinstance(name, str) and hasattr(obj, name)}
    return (state, slots) if slots else state


def _set_obj_state(obj, state):
    if isinstance(state, tuple):
        if len(state) != 2:
            raise RuntimeError(f"Invalid serialized state: {state}")
        dict_state, slots_state = state
    else:
        dict_state, slots_state = state, None
    for key, value in (dict_state or {}).items():
        setattr(obj, key, value)
    for key, value in (slots_state or {}).items():
        setattr(obj, key, value)
    return obj
