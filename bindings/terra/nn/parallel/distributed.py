"""DistributedDataParallel's name, so scripts that import it load; building one fails as
PyTorch's does without an initialised process group (Terra has none)."""

from ..modules.module import Module

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    def __init__(self, module, *args, **kwargs):
        raise RuntimeError("Default process group has not been initialized, please make sure to "
                           "call init_process_group. (terra.distributed is not available: Terra "
                           "runs in one process; use the module itself.)")
