"""terra.cuda.amp: torch.cuda.amp's autocast and GradScaler (see terra.amp: Terra has no reduced
precision, so autocast runs in full precision and GradScaler is disabled)."""
from ..amp import GradScaler
from ..amp import autocast as _autocast


class autocast(_autocast):
    """torch.cuda.amp.autocast(enabled=True, dtype=torch.float16, cache_enabled=True)."""

    def __init__(self, enabled=True, dtype=None, cache_enabled=True):
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


__all__ = ["autocast", "GradScaler"]
