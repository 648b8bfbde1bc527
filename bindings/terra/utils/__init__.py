"""terra.utils: PyTorch's torch.utils namespace (the data loading utilities live in
terra.utils.data; activation checkpointing, as a plain call, in terra.utils.checkpoint)."""
from . import checkpoint, data

__all__ = ['checkpoint', 'data']
