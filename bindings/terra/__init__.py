"""Terra: a deep-learning runtime with PyTorch's Python API (`import terra as torch`).

The engine (tensors, the op registry, autograd) is the C++ extension `terra._C`; this package adds
PyTorch's signatures on top and the Python libraries (nn, optim, utils.data, distributions).
"""
from . import _C
from ._C import (Tensor, Generator, dtype, bool, int32, int64, float32, float64, from_numpy, get_default_dtype,
                 set_default_dtype, is_grad_enabled, default_generator, OutOfMemoryError)
from ._size import Size
from . import _public_name
from ._device import device

__version__ = _C.__version__

# PyTorch's dtype aliases.
float = float32
double = float64
long = int64
int = int32
# Dtypes Terra does not have: objects scripts can name and compare, which every op refuses.
from ._missing_dtypes import ALL as _MISSING, NAMES as _MISSING_NAMES  # noqa: E402
for _alias, _name in _MISSING_NAMES.items():
    globals()[_alias] = _MISSING[_name]
del _alias, _name

from ._tensor import _install as _install_tensor_methods  # noqa: E402

_install_tensor_methods()
_public_name.install_dtype_repr()

from ._functions import *  # noqa: E402,F401,F403
from ._functions import __all__ as _functions_all  # noqa: E402
from ._shape_functions import *  # noqa: E402,F401,F403
from ._math_functions import *  # noqa: E402,F401,F403
from ._more_functions import *  # noqa: E402,F401,F403
from ._elementwise_more import *  # noqa: E402,F401,F403
from ._special_more import *  # noqa: E402,F401,F403
from ._special_gamma import *  # noqa: E402,F401,F403
from ._scatter_functions import *  # noqa: E402,F401,F403
from ._inplace_functions import *  # noqa: E402,F401,F403
from ._window_functions import *  # noqa: E402,F401,F403
from ._functional_aliases import *  # noqa: E402,F401,F403
from ._linalg_spellings import *  # noqa: E402,F401,F403
from .autograd.grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode,  # noqa: E402
                                  is_inference_mode_enabled)
from .autograd.anomaly_mode import is_anomaly_enabled  # noqa: E402
from ._C import _set_anomaly_enabled as set_anomaly_enabled  # noqa: E402
from ._memory_format import (memory_format, contiguous_format, preserve_format, channels_last,  # noqa: E402
                             channels_last_3d, install as _install_memory_formats)
_install_memory_formats()
from .random import manual_seed, seed, initial_seed, get_rng_state, set_rng_state  # noqa: E402
from .serialization import save, load  # noqa: E402
from ._tracing import coexec, replay, step  # noqa: E402
from . import autograd, cuda, random, serialization, backends, accelerator, debug, amp, cpu, jit, distributed, linalg, special  # noqa: E402
from .amp import autocast  # noqa: E402
from ._type_info import finfo, iinfo  # noqa: E402

_float32_matmul_precision = "highest"


def set_float32_matmul_precision(precision):
    """torch.set_float32_matmul_precision: "highest", "high" or "medium". Remembered and returned
    by get_float32_matmul_precision(); Terra's float32 products always run in full float32 (no
    TF32), which "highest" asks for and the others allow."""
    global _float32_matmul_precision
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision {precision!r}: expected 'highest', 'high' or 'medium'")
    _float32_matmul_precision = precision


def get_float32_matmul_precision():
    return _float32_matmul_precision

def _import_libraries():
    """nn, optim, utils, distributions (each a subpackage; imported when present)."""
    import importlib
    import importlib.util
    for name in ("nn", "optim", "utils", "distributions"):
        if importlib.util.find_spec(f"{__name__}.{name}") is not None:
            globals()[name] = importlib.import_module(f"{__name__}.{name}")


_import_libraries()

# Imported on first use (`terra.testing.assert_close`, `import terra.profiler`): a model does not
# need them, and `import terra` stays as fast.
_LAZY_SUBMODULES = ("testing", "profiler", "multiprocessing", "version", "torch_version")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _dtype_from_name(name):
    return getattr(_C, name)


def is_tensor(obj):
    return isinstance(obj, Tensor)


from ._storage import TypedStorage, UntypedStorage, is_storage, install as _install_storage  # noqa: E402
_install_storage()  # Tensor.storage(), resize_, set_, is_set_to


def is_floating_point(t):
    return t.is_floating_point()


def numel(t):
    return t.numel()


def typename(obj):
    if isinstance(obj, Tensor):
        legacy = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int", "bool": "Bool"}
        return _public_name.qualified(legacy[_public_name.dtype_name(obj.dtype)] + "Tensor")
    return type(obj).__name__


def memory_stats():
    """The CPU allocator's counters: in_use_bytes, peak_bytes (since the start or the last
    reset_peak_memory_stats()), cached_bytes, reserved_bytes, allocations, cache_hits (and the
    CUDA allocator's counters under the same names, 0 here; terra.cuda.memory_stats())."""
    return _C._memory_stats()


def reset_peak_memory_stats():
    _C._reset_peak_memory_stats()


def set_num_threads(n):
    """The threads of Terra's CPU kernels (and OpenBLAS's products), as torch.set_num_threads."""
    _C._set_num_threads(n)


def get_num_threads():
    return _C._get_num_threads()


def compile(model=None, **kwargs):
    """torch.compile: Terra compiles by itself (co-execution), so this returns the model unchanged."""
    if model is None:
        return lambda m: m
    return model


from ._legacy_types import CLASSES as _LEGACY_TYPES  # noqa: E402
globals().update(_LEGACY_TYPES)  # FloatTensor, LongTensor, ...: constructors and dtype checks


def _device_from_environment():
    """TERRA_DEVICE (`terra run --device`): "cuda" makes CUDA the default device of factory
    functions and so of nn.Module parameters (as torch.set_default_device("cuda")), "auto" does
    when a GPU is present, "cpu" or unset leaves the CPU. Tensors made from numpy arrays
    (from_numpy) stay on the CPU, as in PyTorch."""
    import os
    choice = os.environ.get("TERRA_DEVICE", "cpu")
    if choice == "cuda" and not cuda.is_available():
        raise RuntimeError(f"TERRA_DEVICE=cuda but no CUDA device: {_C._cuda_unavailable_reason()}")
    if choice == "cuda" or (choice == "auto" and cuda.is_available()):
        set_default_device("cuda")


_device_from_environment()


def _start_the_cli_session():
    """`terra run` (coexec or replay mode) leaves its session's options here for the first import
    of terra: the session then runs until the interpreter exits."""
    import sys
    options = sys.__dict__.pop("_terra_run_session", None)
    if options is not None:
        from ._tracing import run_until_exit
        run_until_exit(**options)


_start_the_cli_session()
