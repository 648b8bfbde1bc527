"""terra.cuda: CUDA device queries (False / 0 until the CUDA backend is wired to Python)."""
from . import _C


def is_available():
    return False


def device_count():
    return 0


def current_device():
    raise RuntimeError("No CUDA GPUs are available")


def manual_seed(seed):
    pass


def manual_seed_all(seed):
    pass


def synchronize(device=None):
    pass


def empty_cache():
    pass


def is_built():
    return bool(_C._built_with_cuda)
