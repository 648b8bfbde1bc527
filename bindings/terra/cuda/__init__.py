"""terra.cuda: PyTorch's torch.cuda queries, backed by Terra's CUDA probe and caching allocator
(tensor/cuda/). Without a device (or in a build without CUDA) it answers as PyTorch does on such
a machine: is_available() is False, device_count() 0, the memory counters 0, manual_seed a no-op,
and what needs a device (current_device, get_device_name, synchronize...) raises RuntimeError
saying why there is none."""
from collections import namedtuple

from .. import _C

OutOfMemoryError = _C.OutOfMemoryError

_CudaDeviceProperties = namedtuple("_CudaDeviceProperties",
                                   "name major minor total_memory multi_processor_count")


def is_built():
    return bool(_C._built_with_cuda)


def is_available():
    return _C._cuda_device_count() > 0


def device_count():
    return _C._cuda_device_count()


def is_initialized():
    return is_available()


def init():
    _require_device()


def _require_device():
    if not is_available():
        raise RuntimeError(f"No CUDA GPUs are available: {_C._cuda_unavailable_reason()}")


def _index(device):
    """The device index of None, an int, "cuda", "cuda:1" or a terra.device."""
    if device is None:
        return current_device()
    if isinstance(device, int):
        return device
    from .._device import device as device_type
    d = device_type(device) if isinstance(device, str) else device
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return 0 if d.index is None else d.index


def current_device():
    _require_device()
    return 0  # Terra serves cuda:0 for now (tensor/cuda/cuda_device.hpp)


def set_device(device):
    if _index(device) != 0:
        raise RuntimeError(f"cannot use device {device}: only cuda:0 is supported for now")


def get_device_properties(device=None):
    _require_device()
    return _CudaDeviceProperties(**_C._cuda_device_properties(_index(device)))


def get_device_name(device=None):
    return get_device_properties(device).name


def get_device_capability(device=None):
    props = get_device_properties(device)
    return props.major, props.minor


def synchronize(device=None):
    _require_device()
    _C._cuda_synchronize()


def manual_seed(seed):
    """Terra's CUDA kernels draw from the default generator (Philox, the same streams as the
    CPU's), which terra.manual_seed seeds; like PyTorch without a device, this is a no-op."""


def manual_seed_all(seed):
    manual_seed(seed)


def seed():
    pass


def seed_all():
    pass


# The generator Terra's CUDA kernels draw from is the default one, shared with the CPU, so a
# device's state is that generator's: saving and restoring it (a checkpoint's RNG states) works
# as with PyTorch. Without a device these raise as PyTorch's do; the *_all forms see no devices.
def get_rng_state(device="cuda"):
    _require_device()
    _index(device)
    return _C.default_generator.get_state()


def set_rng_state(new_state, device="cuda"):
    _require_device()
    _index(device)
    _C.default_generator.set_state(new_state)


def get_rng_state_all():
    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state_all(new_states):
    for i, state in enumerate(new_states):
        set_rng_state(state, i)


def initial_seed():
    _require_device()
    return _C.default_generator.initial_seed()


def empty_cache():
    """Gives the caching allocator's free segments back to CUDA (no-op without a device)."""
    _C._cuda_empty_cache()


def memory_stats(device=None):
    """The CUDA caching allocator's counters (tensor/cuda/block_pool.hpp), under PyTorch's names
    where they have one; empty without a device, as PyTorch's."""
    if not is_available():
        return {}
    s = _C._cuda_memory_stats()
    return {"allocated_bytes.all.current": s["in_use_bytes"], "allocated_bytes.all.peak": s["peak_bytes"],
            "reserved_bytes.all.current": s["reserved_bytes"], "reserved_bytes.all.peak": s["peak_reserved_bytes"],
            "inactive_split_bytes.all.current": s["cached_bytes"], "segment.all.current": s["segments"],
            "allocation.all.allocated": s["allocations"], "num_alloc_retries": s["alloc_retries"],
            "num_ooms": s["ooms"]}


def memory_allocated(device=None):
    return _C._cuda_memory_stats()["in_use_bytes"]


def max_memory_allocated(device=None):
    return _C._cuda_memory_stats()["peak_bytes"]


def memory_reserved(device=None):
    return _C._cuda_memory_stats()["reserved_bytes"]


def max_memory_reserved(device=None):
    return _C._cuda_memory_stats()["peak_reserved_bytes"]


memory_cached = memory_reserved
max_memory_cached = max_memory_reserved


def reset_peak_memory_stats(device=None):
    _C._cuda_reset_peak_memory_stats()


reset_max_memory_allocated = reset_peak_memory_stats


def memory_summary(device=None, abbreviated=False):
    s = _C._cuda_memory_stats()
    return "\n".join(f"{name}: {value}" for name, value in s.items())

from . import amp  # noqa: E402,F401  (torch.cuda.amp)
