"""terra.cuda.amp: torch.cuda.amp's autocast and GradScaler (see terra.amp: Terra has no reduced
precision, so autocast runs in full precision and GradScaler is disabled)."""
from ..amp import GradScaler, _device_autocast

autocast = _device_autocast("cuda", "float16")

__all__ = ["autocast", "GradScaler"]
