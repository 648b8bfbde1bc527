"""functional_call (torch.nn.utils.stateless): calls a module with some of its parameters and
buffers replaced by given tensors, leaving the module as it was afterwards.

As in PyTorch 1.13, each module owning a replaced name gets, for the call, a subclass whose
attribute lookup answers those names from the dict (so parametrization properties are bypassed
and `parameters()` still lists the module's own); assignments to them inside forward go into the
dict.
"""

import contextlib
import warnings

__all__ = ["functional_call"]


def _swap_class(module, params_and_buffers):
    cls = module.__class__
    attr_to_path = module._attr_to_path

    def __getattribute__(self, name):
        if name in attr_to_path:
            return params_and_buffers[attr_to_path[name]]
        return cls.__getattribute__(self, name)

    def __setattr__(self, name, value):
        if name in attr_to_path:
            params_and_buffers[attr_to_path[name]] = value
        else:
            cls.__setattr__(self, name, value)

    module.__class__ = type(f"StatelessReplacer{cls.__name__}", (cls,),
                            {"__getattribute__": __getattribute__, "__setattr__": __setattr__})
    module._orig_class = cls


def _owner(module, path):
    """(the submodule holding the dotted name `path`, the last component of the name)."""
    *prefix, name = path.split(".")
    for part in prefix:
        module = getattr(module, part)
    return module, name


@contextlib.contextmanager
def _reparametrize_module(module, parameters_and_buffers):
    # id of a module's own tensor -> (that tensor, its replacement), to spot tied weights given
    # two values; the tensor is held so that its id stays its own.
    replaced = {}
    owners = []
    try:
        for path, tensor in parameters_and_buffers.items():
            owner, name = _owner(module, path)
            if hasattr(owner, name):
                old = getattr(owner, name)
                if replaced.setdefault(id(old), (old, tensor))[1] is not tensor:
                    warnings.warn("functional_call was passed multiple values for tied weights. "
                                  "This behavior is deprecated and will be an error in future "
                                  "versions")
            if hasattr(owner, "_attr_to_path"):
                owner._attr_to_path[name] = path
            else:
                owner._attr_to_path = {name: path}
                _swap_class(owner, parameters_and_buffers)
                owners.append(owner)
        yield
    finally:
        for owner in owners:
            owner.__class__ = owner._orig_class
            del owner._orig_class
            del owner._attr_to_path


def functional_call(module, parameters_and_buffers, args, kwargs=None):
    """module(*args, **kwargs) with `module.<dotted name>` read from parameters_and_buffers for
    each of its keys; a tuple `args` is unpacked, anything else is the one argument."""
    if kwargs is None:
        kwargs = {}
    with _reparametrize_module(module, parameters_and_buffers):
        if isinstance(args, tuple):
            return module(*args, **kwargs)
        return module(args, **kwargs)
