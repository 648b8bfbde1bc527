"""terra.cpu: the torch.cpu namespace, for torch.cpu.amp.autocast."""
from . import amp  # noqa: F401
