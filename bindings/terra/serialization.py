"""terra.save / terra.load: pickle, with tensors stored as numpy arrays (state dicts, whole modules,
optimizer states, any picklable object)."""
import io
import os
import pickle

import numpy as np

from . import _C

DEFAULT_PROTOCOL = 2


def _rebuild_tensor(array, requires_grad, cls=None):
    t = _C._tensor_from_numpy(np.asarray(array, order="C"))
    if cls is not None and cls is not _C.Tensor:
        t = cls(t, requires_grad) if _is_parameter_class(cls) else cls(t)
    if requires_grad and not t.requires_grad:
        t.requires_grad_(True)
    return t


def _is_parameter_class(cls):
    return cls.__name__ == "Parameter"


def save(obj, f, pickle_module=pickle, pickle_protocol=DEFAULT_PROTOCOL, _use_new_zipfile_serialization=True):
    _C._trace.sync()  # deferred work first: the tensors written are the program's current values
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            pickle_module.dump(obj, fh, protocol=pickle_protocol)
    else:
        pickle_module.dump(obj, f, protocol=pickle_protocol)


def load(f, map_location=None, pickle_module=pickle, *, weights_only=False, mmap=None, **pickle_load_args):
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return pickle_module.load(fh, **pickle_load_args)
    if isinstance(f, (bytes, bytearray)):
        f = io.BytesIO(f)
    return pickle_module.load(f, **pickle_load_args)
