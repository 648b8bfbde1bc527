"""terra.utils: PyTorch's torch.utils namespace (the data loading utilities live in
terra.utils.data)."""
from . import data

__all__ = ['data']
