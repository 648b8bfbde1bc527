"""The pickle inside PyTorch's checkpoint files, with PyTorch's global names.

A checkpoint's pickle names torch's globals: `torch._utils._rebuild_tensor_v2`, `torch.FloatStorage`,
`torch.float16`, `torch.nn.modules.linear.Linear`, `collections.OrderedDict`. Terra's package
mirrors torch's layout, so the reader maps `torch.X.Y` onto `terra.X.Y` (storage types become
StorageType descriptors, as in PyTorch's reader), and the writer names Terra's globals the other
way round (`terra.nn.modules.linear.Linear` is written `torch.nn.modules.linear.Linear`), so that
PyTorch finds its own. Tensors are written as PyTorch 1.13 writes them, whatever their
__reduce_ex__ (which copy.deepcopy, plain pickle and multiprocessing keep using).
"""
import functools
import importlib
import pickle
import types
from collections import OrderedDict

from . import _C, _missing_dtypes, _public_name, _utils
from ._checkpoint_storages import StorageType, storage_type
from ._device import device
from ._size import Size
from ._storage import TypedStorage, _flat

# Globals that live elsewhere in Terra than in torch (torch's names for them).
_TORCH_NAMES = [
    (_C.Tensor, ("torch._tensor", "Tensor")),
    (device, ("torch", "device")),
    (Size, ("torch", "Size")),
    (_utils._rebuild_from_type_v2, ("torch._tensor", "_rebuild_from_type_v2")),
]
# Modules PyTorch renamed that old checkpoints still name (as PyTorch's reader maps them).
_RENAMED_MODULES = {"torch.tensor": "torch._tensor"}

UNSAFE_MESSAGE = ("Weights only load failed. Re-running `torch.load` with `weights_only` set to `False` will likely "
                  "succeed, but it can result in arbitrary code execution. Do it only if you get the file from a "
                  "trusted source. WeightsUnpickler error: ")

# What weights_only=True lets a checkpoint name (PyTorch 1.13's torch._weights_only_unpickler), besides
# torch's dtypes and its tensor and storage classes.
_WEIGHTS_ONLY_GLOBALS = {
    "collections.OrderedDict", "torch.nn.parameter.Parameter", "torch.serialization._get_layout", "torch.Size",
    "torch.Tensor", "torch._utils._rebuild_parameter", "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_meta_tensor_no_storage", "torch._utils._rebuild_sparse_csr_tensor"}
_DTYPE_NAMES = {"float32", "float64", "int64", "int32", "bool", *_missing_dtypes.ALL}


def _weights_only_allows(module, name):
    if f"{module}.{name}" in _WEIGHTS_ONLY_GLOBALS:
        return True
    if module == "torch" and name in _DTYPE_NAMES:
        return True
    return module in ("torch", "torch.cuda") and (name.endswith("Tensor") or name.endswith("Storage"))


def _terra_global(module, name):
    """Terra's object for the global torch's `module.name`."""
    module = _RENAMED_MODULES.get(module, module)
    terra_module = "terra" + module[len("torch"):]
    try:
        obj = importlib.import_module(terra_module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise pickle.UnpicklingError(f"{_public_name.qualified('load')}: the checkpoint needs {module}.{name}, which "
                                     "Terra does not have") from None
    return obj


def unpickler_class(pickle_module, persistent_load, weights_only=False):
    """An Unpickler (of pickle_module's) reading torch's names as Terra's; `persistent_load(saved_id)`
    answers the file's storage references."""

    class CheckpointUnpickler(pickle_module.Unpickler):
        def find_class(self, module, name):
            if weights_only and not _weights_only_allows(module, name):
                raise pickle.UnpicklingError(UNSAFE_MESSAGE + f"Unsupported class {module}.{name}")
            if module in ("torch", "torch.cuda") and name.endswith("Storage"):
                return storage_type(name)
            if module == "torch" or module.startswith("torch."):
                return _terra_global(module, name)
            return super().find_class(module, name)

        def persistent_load(self, saved_id):
            return persistent_load(saved_id)

    return CheckpointUnpickler


def _torch_name(obj, name):
    """(module, name) torch knows `obj` by, or None for a global outside Terra's package."""
    if isinstance(obj, StorageType):
        return ("torch", f"{obj.name}Storage")
    if isinstance(obj, (_C.dtype, _missing_dtypes.MissingDType)):
        return ("torch", name)
    for terra_obj, torch_name in _TORCH_NAMES:
        if obj is terra_obj:
            return torch_name
    module = getattr(obj, "__module__", None) or ""
    name = name or obj.__qualname__
    torch_files = _nn_module_files().get(name, {})
    if module in torch_files:
        return (torch_files[module], name)
    if module == "terra" or module.startswith("terra."):
        return ("torch" + module[len("terra"):], name)
    return None


@functools.lru_cache(maxsize=None)
def _nn_module_files():
    """{class name: {Terra's file: PyTorch's file}} for the layers Terra defines in other files
    than PyTorch (nn/modules/_torch_paths.py)."""
    from .nn.modules import _torch_paths
    files = {}
    for torch_file, sources in _torch_paths._ALIASES.items():
        for terra_file, names in sources.items():
            for name in names:
                files.setdefault(name, {})[f"terra.nn.modules.{terra_file}"] = f"torch.nn.modules.{torch_file}"
    return files


def _tensor_reduction(tensor):
    """PyTorch 1.13's Tensor/Parameter.__reduce_ex__: the data as a storage reference, offset, size
    and strides."""
    from .nn.parameter import Parameter
    if isinstance(tensor, Parameter):  # PyTorch 1.13 saves a Parameter's data and requires_grad only
        return (_utils._rebuild_parameter, (tensor.detach(), tensor.requires_grad, OrderedDict()))
    args = (TypedStorage._over(_flat(tensor)), tensor.storage_offset(), tuple(tensor.shape), tuple(tensor.stride()),
            tensor.requires_grad, OrderedDict())
    state = _utils._get_obj_state(tensor)
    if type(tensor) is _C.Tensor and not state:
        return (_utils._rebuild_tensor_v2, args)
    return (_utils._rebuild_from_type_v2, (_utils._rebuild_tensor_v2, type(tensor), args, state))


def pickler_class(pickle_module):
    """A Pickler writing torch's names; it is Python's own (pure-Python) Pickler, whose save_global
    can name globals of a package other than the object's."""
    base = pickle._Pickler if pickle_module.Pickler is pickle.Pickler else pickle_module.Pickler
    if not issubclass(base, pickle._Pickler):
        raise TypeError(f"{_public_name.qualified('save')}: pickle_module's Pickler must derive from pickle._Pickler")

    class CheckpointPickler(base):
        def reducer_override(self, obj):
            if isinstance(obj, _C.Tensor):
                from .nn._uninitialized import UninitializedTensorMixin
                if not isinstance(obj, UninitializedTensorMixin):  # those pickle as a placeholder
                    return _tensor_reduction(obj)
            elif isinstance(obj, (_C.dtype, _missing_dtypes.MissingDType)):
                return _public_name.dtype_name(obj) if isinstance(obj, _C.dtype) else obj.name
            elif isinstance(obj, StorageType):
                return f"{obj.name}Storage"
            return NotImplemented

        def save_global(self, obj, name=None):
            torch_name = _torch_name(obj, name)
            if torch_name is None:
                return super().save_global(obj, name)
            self.write(pickle.GLOBAL + "{}\n{}\n".format(*torch_name).encode("utf-8"))
            self.memoize(obj)

        # The base class dispatches functions to its own save_global, not to an override.
        dispatch = dict(base.dispatch)
        dispatch[types.FunctionType] = save_global

    return CheckpointPickler
