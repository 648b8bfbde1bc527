"""terra.nn.parallel: torch.nn.parallel's import paths. DataParallel runs the module on one
device (data_parallel.py); DistributedDataParallel needs process groups, which Terra lacks."""

from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "data_parallel", "DistributedDataParallel"]
