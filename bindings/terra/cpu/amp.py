"""terra.cpu.amp: torch.cpu.amp.autocast (see terra.amp: it runs in full precision)."""
from ..amp import _device_autocast

autocast = _device_autocast("cpu", "bfloat16")

__all__ = ["autocast"]
