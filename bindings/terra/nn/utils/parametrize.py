"""Parametrizations (torch.nn.utils.parametrize): `module.<name>` becomes a property computing
`parametrization(original)` on every read, the original tensor living in
`module.parametrizations.<name>.original` (or `original0`, `original1`, ... when the first
parametrization's right_inverse returns several tensors).

As in PyTorch, the module's class is swapped for a subclass ("Parametrized<Class>") that carries
the properties, and swapped back when the last parametrization is removed.
"""

import collections
import copyreg
from contextlib import contextmanager
from copy import deepcopy

import terra

from ..modules.container import ModuleDict, ModuleList
from ..parameter import Parameter, Tensor

__all__ = ["cached", "ParametrizationList", "register_parametrization", "is_parametrized",
           "remove_parametrizations", "type_before_parametrizations",
           "transfer_parametrizations_and_params"]

_cache_enabled = 0
_cache = {}


@contextmanager
def cached():
    """Inside the block each parametrized tensor is computed once, on its first read."""
    global _cache, _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache = {}


def _register_parameter_or_buffer(module, name, X):
    if isinstance(X, Parameter):
        module.register_parameter(name, X)
    else:
        module.register_buffer(name, X)


def _set_data(tensor, value):
    """tensor now holds value's data, keeping its identity (PyTorch's `set_` under no_grad), so
    optimizers holding the parameter keep working."""
    tensor.data = value


def _check_tensor(result, what):
    if not isinstance(result, Tensor):
        raise ValueError(f"{what} must return a tensor. Got {type(result).__name__}.")


def _check_unchanged(result, dtype, shape, describe):
    """ValueError, worded by describe(attr, expected value, result's value), unless result has
    this dtype and shape."""
    for attr, expected in (("dtype", dtype), ("shape", shape)):
        got = getattr(result, attr)
        if got != expected:
            raise ValueError(describe(attr, expected, got))


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, in registration order, and its original tensor(s)."""

    def __init__(self, modules, original, unsafe=False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        original_dtype, original_shape = original.dtype, original.shape

        # The stored tensor is right_inverse(original), through the parametrizations that have
        # one (the others count as the identity).
        with terra.no_grad():
            new = original
            for module in reversed(self):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, collections.abc.Sequence)):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, "
                             f"tuple...). Got {type(new).__name__}")

        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if original.dtype != new.dtype:
                raise ValueError("When `right_inverse` outputs one tensor, it may not change the "
                                 f"dtype.\noriginal.dtype: {original.dtype}\n"
                                 f"right_inverse(original).dtype: {new.dtype}")
            # The original tensor object itself is kept, so optimizers need no update.
            with terra.no_grad():
                _set_data(original, new)
            _register_parameter_or_buffer(self, "original", original)
        else:
            for i, original_i in enumerate(new):
                if not isinstance(original_i, Tensor):
                    raise ValueError("'right_inverse' must return a Tensor or a Sequence of "
                                     f"tensors (list, tuple...). Got element {i} of the sequence "
                                     f"with type {type(original_i).__name__}.")
                if isinstance(original, Parameter):
                    original_i = Parameter(original_i)
                original_i.requires_grad_(original.requires_grad)
                _register_parameter_or_buffer(self, f"original{i}", original_i)

        if not self.unsafe:
            Z = self()
            _check_tensor(Z, "A parametrization")
            _check_unchanged(Z, original_dtype, original_shape, lambda attr, expected, got: (
                f"Registering a parametrization may not change the {attr} of the tensor, unless "
                f"`unsafe` flag is enabled.\nunparametrized {attr}: {expected}\n"
                f"parametrized {attr}: {got}"))

    def right_inverse(self, value):
        """Stores right_inverse(value) (through every parametrization, last first) as the
        original tensor(s): assigning `module.<name> = value` lands here."""
        with terra.no_grad():
            for module in reversed(self):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not "
                                       "implement right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                self._store_original(self.original, value, "The tensor returned by `right_inverse`",
                                     "`original`")
                return
            if not isinstance(value, collections.abc.Sequence):
                raise ValueError("'right_inverse' must return a sequence of tensors. Got "
                                 f"{type(value).__name__}.")
            if len(value) != self.ntensors:
                raise ValueError("'right_inverse' must return a sequence of tensors of length "
                                 f"{self.ntensors}. Got a sequence of length {len(value)}.")
            for i, tensor in enumerate(value):
                self._store_original(getattr(self, f"original{i}"), tensor,
                                     f"Tensor {i} returned by `right_inverse`", f"`original{i}`")

    @staticmethod
    def _store_original(original, value, value_name, original_name):
        """original takes value's data: same dtype required (its shape may change)."""
        if not isinstance(value, Tensor):
            raise ValueError(f"`right_inverse` should return a tensor. Got {type(value).__name__}")
        if value.dtype != original.dtype:
            raise ValueError(f"{value_name} has dtype {value.dtype} while {original_name} has "
                             f"dtype {original.dtype}")
        _set_data(original, value)

    def forward(self):
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in list(self)[1:]:
            x = module(x)
        return x


def _inject_new_class(module):
    """Swaps module's class for a subclass that will carry the parametrized properties; such
    modules deep-copy but refuse pickling (as PyTorch's: state_dict() is the way to save them)."""
    cls = module.__class__

    def default_deepcopy(self, memo):
        obj = memo.get(id(self), None)
        if obj is not None:
            return obj
        replica = self.__new__(self.__class__)
        memo[id(self)] = replica
        replica.__dict__ = deepcopy(self.__dict__, memo)
        for slot in copyreg._slotnames(self.__class__):
            if hasattr(self, slot):
                setattr(replica, slot, deepcopy(getattr(self, slot), memo))
        return replica

    def getstate(self):
        raise RuntimeError("Serialization of parametrized modules is only supported through "
                           "state_dict(). See:\nhttps://pytorch.org/tutorials/beginner/"
                           "saving_loading_models.html#saving-loading-a-general-checkpoint-for-"
                           "inference-and-or-resuming-training")

    namespace = {"__getstate__": getstate}
    if not hasattr(cls, "__deepcopy__"):
        namespace["__deepcopy__"] = default_deepcopy
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), namespace)


def _inject_property(module, tensor_name):
    """Adds the property `tensor_name` to module's (already swapped) class."""
    assert not hasattr(module, tensor_name)

    def get_parametrized(self):
        parametrization = self.parametrizations[tensor_name]
        if not _cache_enabled:
            return parametrization()
        key = (id(self), tensor_name)
        tensor = _cache.get(key)
        if tensor is None:
            tensor = _cache[key] = parametrization()
        return tensor

    def set_original(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original))


def _check_appended_parametrization(module, tensor_name, parametrization):
    """A parametrization added on top of others must map module.<tensor_name>'s dtype and shape
    to themselves, and so must its right_inverse."""
    Y = getattr(module, tensor_name)
    X = parametrization(Y)
    _check_tensor(X, "A parametrization")
    _check_unchanged(X, Y.dtype, Y.shape, lambda attr, expected, got: (
        f"Registering a parametrization may not change the {attr} of the tensor, unless the "
        f"`unsafe` flag is enabled.\nmodule.{tensor_name}.{attr}: {expected}\n"
        f"parametrization(module.{tensor_name}).{attr}: {got}"))
    if not hasattr(parametrization, "right_inverse"):
        return
    try:
        Z = parametrization.right_inverse(X)
    except NotImplementedError:
        return
    if not isinstance(Z, Tensor):
        raise ValueError("parametrization.right_inverse must return a tensor. Got: "
                         f"{type(Z).__name__}")
    _check_unchanged(Z, Y.dtype, Y.shape, lambda attr, expected, got: (
        "The tensor returned by parametrization.right_inverse must have the same "
        f"{attr} as module.{tensor_name}, unless the `unsafe` flag is enabled.\n"
        f"module.{tensor_name}.{attr}: {expected}\nreturned {attr}: {got}"))


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Makes `module.<tensor_name>` read as `parametrization(original)`; registering again on
    the same name chains the parametrizations."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            _check_appended_parametrization(module, tensor_name, parametrization)
        parametrizations = module.parametrizations[tensor_name]
        parametrizations.append(parametrization)
        parametrizations.unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        # Built first: it checks the parametrization before the module is changed.
        parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = parametrizations
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    return module


def is_parametrized(module, tensor_name=None):
    """Whether module has a parametrization (on `tensor_name` when given)."""
    parametrizations = getattr(module, "parametrizations", None)
    if parametrizations is None or not isinstance(parametrizations, ModuleDict):
        return False
    if tensor_name is None:
        return len(parametrizations) > 0
    return tensor_name in parametrizations


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Makes `module.<tensor_name>` a plain parameter or buffer again: its current value when
    leave_parametrized, else the stored original."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with terra.no_grad():
                _set_data(original, getattr(module, tensor_name))
    elif leave_parametrized:
        # Not under no_grad: whether the originals require grad decides Parameter or buffer.
        t = getattr(module, tensor_name)
        original = Parameter(t) if t.requires_grad else t
    else:
        raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                         "that is parametrized in terms of a sequence of tensors.")

    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module


def type_before_parametrizations(module):
    """module's class as it was before its first parametrization."""
    if is_parametrized(module):
        return module.__class__.__bases__[0]
    return type(module)


def transfer_parametrizations_and_params(from_module, to_module, tensor_name=None):
    """Registers from_module's parametrizations (of `tensor_name`, or all) on to_module and gives
    it the same original tensors; creates the parameters to_module lacks."""
    if not is_parametrized(from_module):
        return to_module
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name)))
        source = from_module.parametrizations[name]
        for parametrization in source:
            register_parametrization(to_module, name, parametrization)
        target = to_module.parametrizations[name]
        original_names = ["original"] if hasattr(source, "original") else \
            [f"original{i}" for i in range(source.ntensors)]
        for original_name in original_names:
            setattr(target, original_name, getattr(source, original_name))
    return to_module
