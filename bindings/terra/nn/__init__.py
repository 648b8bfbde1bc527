"""terra.nn: PyTorch's neural-network API (torch.nn) over terra's registry ops.

Layout mirrors torch.nn, so `import terra as torch` code finds the same names in the same
modules: nn.Module and the layers under nn.modules.*, nn.functional, nn.init, nn.parameter,
nn.utils.
"""

from .parameter import Parameter, UninitializedBuffer, UninitializedParameter
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from . import functional, init, utils
from . import modules, parameter
from . import parallel
from .parallel import DataParallel

__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer", "functional", "init",
           "utils", "modules", "parameter", "parallel", "DataParallel"] + _modules_all
