"""terra.distributed: torch.distributed as a build without distributed support answers it.
Scripts check `is_available()` (or `is_initialized()`) before setting up a process group; Terra
runs in one process, so both are False."""


def is_available():
    return False


def is_initialized():
    return False


__all__ = ["is_available", "is_initialized"]
