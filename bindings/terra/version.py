"""terra.version (torch.version under --as-torch): the version, the PyTorch API Terra follows,
and the CUDA toolkit it was built against (None without CUDA, as a CPU build of PyTorch says)."""
import sys

from . import _C
from ._torch_alias import TORCH_API as torch_api

# The package's: its own, or under --as-torch the TorchVersion that torch.__version__ is.
__version__ = sys.modules[__package__].__version__
cuda = ".".join(_C._cuda_version.split(".")[:2]) or None  # "13.0", as PyTorch's "11.7"
hip = None
debug = False
git_version = "unknown"

__all__ = ["__version__", "torch_api", "cuda", "hip", "debug", "git_version"]
