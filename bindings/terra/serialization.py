"""terra.save / terra.load: PyTorch's checkpoint files (state dicts, whole modules, optimizer states,
any picklable object), so that PyTorch reads what Terra saves and Terra reads what PyTorch saves.

terra.save writes PyTorch's zip format (_checkpoint_format.py). terra.load reads it, and the files
earlier Terra versions wrote (a plain pickle whose tensors rebuild from numpy arrays, through
_rebuild_tensor below; copy.deepcopy and plain pickling still use it).
"""
import contextlib
import io
import os
import pickle

import numpy as np

from . import _C, _checkpoint_format, _public_name
from ._checkpoint_pickle import unpickler_class

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


@contextlib.contextmanager
def _opened(f, mode):
    """f as a file object: a path is opened (and closed), bytes are read from memory."""
    if isinstance(f, (str, os.PathLike)):
        with open(f, mode) as fh:
            yield fh
    elif isinstance(f, (bytes, bytearray, memoryview)):
        yield io.BytesIO(f)
    else:
        yield f


def save(obj, f, pickle_module=pickle, pickle_protocol=DEFAULT_PROTOCOL, _use_new_zipfile_serialization=True):
    if not _use_new_zipfile_serialization:
        raise NotImplementedError(f"{_public_name.qualified('save')}: Terra writes only PyTorch's zip format "
                                  "(_use_new_zipfile_serialization=True)")
    _C._trace.sync()  # deferred work first: the tensors written are the program's current values
    with _opened(f, "wb") as fh:
        _checkpoint_format.write(obj, fh, pickle_module, pickle_protocol)


def load(f, map_location=None, pickle_module=None, *, weights_only=False, mmap=None, **pickle_load_args):
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    pickle_module = pickle_module or pickle
    pickle_load_args.setdefault("encoding", "utf-8")
    with _opened(f, "rb") as fh:
        if not fh.seekable():
            fh = io.BytesIO(fh.read())
        if _checkpoint_format.is_zip(fh):
            return _checkpoint_format.read(fh, map_location, pickle_module, weights_only, pickle_load_args)
        return _load_plain_pickle(fh, pickle_module, weights_only, pickle_load_args)


_LEGACY_TORCH_MAGIC = 0x1950a86a20f9469cfc6c  # the first pickle of PyTorch's pre-1.6 format


def _load_plain_pickle(fh, pickle_module, weights_only, pickle_load_args):
    """A file of an earlier Terra: one pickle, no storage references."""
    def persistent_load(saved_id):
        raise pickle.UnpicklingError(f"{_public_name.qualified('load')}: the file is neither a PyTorch checkpoint nor "
                                     f"a pickle Terra wrote (it references the persistent id {saved_id!r})")

    obj = unpickler_class(pickle_module, persistent_load, weights_only)(fh, **pickle_load_args).load()
    if type(obj) is int and obj == _LEGACY_TORCH_MAGIC:
        raise NotImplementedError(f"{_public_name.qualified('load')}: the file is in PyTorch's legacy format (before "
                                  "1.6, or _use_new_zipfile_serialization=False), which Terra does not read; load "
                                  "and save it again with PyTorch >= 1.6")
    return obj
