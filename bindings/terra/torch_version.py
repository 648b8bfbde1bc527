"""torch.torch_version: TorchVersion, the string torch.__version__ is under --as-torch, which
compares as a version with strings ("1.10"), tuples ((1, 10)) and packaging's Version."""
from ._torch_alias import TorchVersion

__all__ = ["TorchVersion"]
