"""terra.cpu.amp: torch.cpu.amp.autocast (see terra.amp: it runs in full precision)."""
from ..amp import autocast as _autocast


class autocast(_autocast):
    """torch.cpu.amp.autocast(enabled=True, dtype=torch.bfloat16, cache_enabled=True)."""

    def __init__(self, enabled=True, dtype=None, cache_enabled=True):
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


__all__ = ["autocast"]
