"""terra.multiprocessing (torch.multiprocessing of PyTorch 1.13): Python's multiprocessing API,
spawn/start_processes with their ProcessContext and exceptions, and the sharing-strategy setters.

Terra tensors cross processes by pickling (their data is copied; there is no shared memory, so the
sharing strategy is only recorded). As in PyTorch, a non-leaf tensor that requires grad is refused
(_reductions.py). Under `terra run --as-torch`, spawned children see `import torch` as Terra too
(_as_torch_children.py)."""
import multiprocessing
import sys

from . import _as_torch_children, _reductions
from ._spawn import (ProcessContext, ProcessException, ProcessExitedException, ProcessRaisedException, SpawnContext,
                     spawn, start_processes)

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies", "spawn", "start_processes",
           "ProcessContext", "SpawnContext", "ProcessException", "ProcessRaisedException", "ProcessExitedException",
           *multiprocessing.__all__]

# PyTorch's strategies for handing tensor storage to another process; Terra pickles the data
# instead, so the choice is only remembered.
_all_sharing_strategies = {"file_system"} if sys.platform == "darwin" else {"file_descriptor", "file_system"}
_sharing_strategy = "file_system" if sys.platform == "darwin" else "file_descriptor"


def set_sharing_strategy(new_strategy):
    """Records the strategy (one of get_all_sharing_strategies()); Terra tensors are pickled whatever it is."""
    global _sharing_strategy
    if new_strategy not in _all_sharing_strategies:
        raise AssertionError(f"Unknown sharing strategy {new_strategy!r}: expected one of "
                             f"{sorted(_all_sharing_strategies)}")
    _sharing_strategy = new_strategy


def get_sharing_strategy():
    return _sharing_strategy


def get_all_sharing_strategies():
    return set(_all_sharing_strategies)


# Python's API, as `from multiprocessing import *` gives it (the default context's functions).
globals().update({name: getattr(multiprocessing, name) for name in multiprocessing.__all__})
_reductions.init_reductions()
_as_torch_children.install_if_aliased()
