"""Storages in PyTorch's checkpoint files: the storage types a file names (`torch.HalfStorage`),
the bytes of each storage and its location tag ("cpu", "cuda:0"), as terra.save writes them and
terra.load reads them back (map_location included).

A storage is a 1-D tensor over all of a tensor's memory (see _storage.py). PyTorch's dtypes that
Terra lacks (float16, bfloat16, uint8, int8, int16) are widened on loading to the smallest Terra
dtype that holds every value (float32, int32), with one warning per load naming them, so that
`model.load_state_dict(terra.load(path))` works on checkpoints that hold them.
"""
import warnings

import numpy as np

from . import _C, _public_name
from ._functions import _numpy_dtype
from ._storage import TypedStorage, UntypedStorage, user_stacklevel


class StorageType:
    """torch.<name>Storage: the dtype a storage's bytes hold (torch_dtype, as numpy reads them:
    `stored`) and the Terra dtype they load as."""

    def __init__(self, name, torch_dtype, stored, loaded):
        self.name = name
        self.torch_dtype = torch_dtype
        self.stored = np.dtype(stored)
        self.loaded = loaded

    def __repr__(self):
        return f"StorageType({self.name}Storage)"

    @property
    def widened(self):
        return _public_name.dtype_name(self.loaded) != self.torch_dtype and self.name != "Untyped"

    def decode(self, raw):
        """A CPU tensor of Terra's dtype holding the storage's bytes `raw` (a copy)."""
        stored = np.frombuffer(raw, dtype=self.stored)
        if self.torch_dtype == "bfloat16":  # the upper half of a float32; numpy has no bfloat16
            return _C.from_numpy((stored.astype(np.uint32) << 16).view(np.float32))
        return _C.from_numpy(stored.astype(_numpy_dtype(self.loaded, "load")))

    def wrap(self, flat):
        return UntypedStorage._over(flat) if self.name == "Untyped" else TypedStorage._over(flat)


STORAGE_TYPES = {t.name: t for t in [
    StorageType("Float", "float32", "<f4", _C.float32),
    StorageType("Double", "float64", "<f8", _C.float64),
    StorageType("Long", "int64", "<i8", _C.int64),
    StorageType("Int", "int32", "<i4", _C.int32),
    StorageType("Bool", "bool", "|b1", _C.bool),
    StorageType("Half", "float16", "<f2", _C.float32),
    StorageType("BFloat16", "bfloat16", "<u2", _C.float32),
    StorageType("Byte", "uint8", "|u1", _C.int32),
    StorageType("Char", "int8", "|i1", _C.int32),
    StorageType("Short", "int16", "<i2", _C.int32),
    # Raw bytes (a saved UntypedStorage): Terra keeps those as a bool tensor, one byte each.
    StorageType("Untyped", "uint8", "|u1", _C.bool),
]}

_TYPE_OF_DTYPE = {t.torch_dtype: t for t in STORAGE_TYPES.values() if not t.widened and t.name != "Untyped"}

# PyTorch's storage types Terra cannot hold, by the dtype it lacks.
_UNSUPPORTED = {"ComplexFloat": "complex64", "ComplexDouble": "complex128", "ComplexHalf": "complex32",
                "QUInt8": "quint8", "QInt8": "qint8", "QInt32": "qint32", "QUInt4x2": "quint4x2",
                "QUInt2x4": "quint2x4"}


def storage_type(class_name):
    """The StorageType a checkpoint means by `FloatStorage` (or `UntypedStorage`)."""
    name = class_name[:-len("Storage")]
    if name in STORAGE_TYPES:
        return STORAGE_TYPES[name]
    if name in _UNSUPPORTED:
        raise RuntimeError(f"{_public_name.qualified('load')}: the checkpoint holds {_UNSUPPORTED[name]} tensors "
                           f"(torch.{class_name}); Terra has no {_UNSUPPORTED[name]} dtype")
    raise RuntimeError(f"{_public_name.qualified('load')}: unknown storage type torch.{class_name} in the checkpoint")


def storage_type_of(dtype):
    return _TYPE_OF_DTYPE[_public_name.dtype_name(dtype)]


def location_tag(flat):
    device = flat.device
    return "cpu" if device.type == "cpu" else f"{device.type}:{device.index or 0}"


def storage_bytes(flat):
    """The storage's bytes, as PyTorch writes them (the machine's byte order: little-endian)."""
    array = np.ascontiguousarray(flat.detach().cpu().numpy()).reshape(-1)
    return memoryview(array.view(np.uint8))


class SavedStorages:
    """The storages an object's tensors live in, each recorded once under a key ("0", "1", ...):
    persistent_id gives the pickle's reference to a storage, as PyTorch's writer does."""

    def __init__(self):
        self.by_key = {}
        self._keys = {}
        self._dtypes = {}

    def persistent_id(self, obj):
        if not isinstance(obj, (TypedStorage, UntypedStorage)):
            return None
        flat = obj._tensor
        untyped = isinstance(obj, UntypedStorage)
        stype = STORAGE_TYPES["Untyped"] if untyped else storage_type_of(flat.dtype)
        nbytes = flat.numel() * flat.element_size()
        if nbytes:
            place = (str(flat.device), flat.data_ptr())
            if self._dtypes.setdefault(place, stype) is not stype:
                raise RuntimeError("Cannot save multiple tensors or storages that view the same data as different types")
            identity = place + (nbytes,)
        else:
            identity = ("empty", id(obj))  # nothing to share: a record of its own
        key = self._keys.get(identity)
        if key is None:
            key = self._keys[identity] = str(len(self._keys))
            self.by_key[key] = (obj, flat)  # obj kept alive: its id is part of an empty storage's identity
        numel = nbytes if untyped else flat.numel()
        return ("storage", stype, key, location_tag(flat), numel)

    def flat(self, key):
        return self.by_key[key][1]


def _restore_location(flat, location):
    """torch.serialization.default_restore_location: the storage moved to the device `location` names."""
    if location == "cpu":
        return flat
    if location.startswith("cuda"):
        from . import cuda
        from ._device import device
        index = device(location).index or 0
        if not cuda.is_available():
            raise RuntimeError(f"Attempting to deserialize object on a CUDA device but "
                               f"{_public_name.qualified('cuda.is_available()')} is False. If you are running on a "
                               f"CPU-only machine, please use {_public_name.qualified('load')} with "
                               f"map_location={_public_name.qualified('device')}('cpu') to map your storages to the "
                               "CPU.")
        count = cuda.device_count()
        if index >= count:
            raise RuntimeError(f"Attempting to deserialize object on CUDA device {index} but "
                               f"{_public_name.qualified('cuda.device_count()')} is {count}. Please use "
                               f"{_public_name.qualified('load')} with map_location to map your storages to an "
                               "existing device.")
        return flat.to(f"cuda:{index}")
    raise RuntimeError(f"don't know how to restore data location of {_public_name.qualified('storage.UntypedStorage')} "
                       f"(tagged with {location})")


def restore(flat, location, map_location):
    """A loaded storage (CPU) where torch.load's map_location puts a storage saved at `location`."""
    if map_location is None:
        return _restore_location(flat, location)
    if isinstance(map_location, dict):
        return _restore_location(flat, str(map_location.get(location, location)))
    if not callable(map_location):  # a str or a device (terra's, or torch's)
        return _restore_location(flat, str(map_location))
    # A callable: given the storage (CPU) and its location tag, it returns a storage or None.
    result = map_location(UntypedStorage._over(flat), location)
    if result is None:
        return _restore_location(flat, location)
    return result._typed_flat(flat.dtype)


class LoadedStorages:
    """The storages a load has made, by key, and the dtypes it widened (one warning per load)."""

    def __init__(self, map_location):
        self.map_location = map_location
        self.by_key = {}
        self._widened = {}

    def get(self, stype, key, location, read_bytes):
        """The storage recorded under `key`, made from read_bytes() on first use."""
        storage = self.by_key.get(key)
        if storage is None:
            if stype.widened:
                self._widened[stype.torch_dtype] = _public_name.dtype_name(stype.loaded)
            flat = stype.decode(read_bytes())
            storage = self.by_key[key] = stype.wrap(restore(flat, location, self.map_location))
        return storage

    def warn_widened(self):
        if not self._widened:
            return
        loaded = ", ".join(f"{src} as {dst}" for src, dst in sorted(self._widened.items()))
        warnings.warn(f"{_public_name.qualified('load')}: the checkpoint holds tensors of dtypes Terra does not have; "
                      f"they were loaded widened ({loaded}), values unchanged", UserWarning,
                      stacklevel=user_stacklevel())
