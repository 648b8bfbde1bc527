"""terra.accelerator (PyTorch 2.x): the current accelerator, None on a CPU-only run."""
from . import cuda


def is_available():
    return cuda.is_available()


def current_accelerator(check_available=False):
    return None


def device_count():
    return cuda.device_count()
