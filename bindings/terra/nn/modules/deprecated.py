"""Deprecated torch.nn classes kept for old scripts: NLLLoss2d (NLLLoss under its old name) and
Container (a Module built from keyword modules). Both warn on construction, as PyTorch's do;
loss.py and container.py re-export them under PyTorch's module paths."""

import warnings

from .loss import NLLLoss
from .module import Module

__all__ = ["NLLLoss2d", "Container"]


class NLLLoss2d(NLLLoss):
    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        warnings.warn("NLLLoss2d has been deprecated. Please use NLLLoss instead as a drop-in "
                      "replacement and see https://pytorch.org/docs/master/nn.html#torch.nn."
                      "NLLLoss for more details.")
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


class Container(Module):
    def __init__(self, **kwargs):
        super().__init__()
        warnings.warn("nn.Container is deprecated. All of it's functionality is now implemented "
                      "in nn.Module. Subclass that instead.")
        for key, value in kwargs.items():
            self.add_module(key, value)
