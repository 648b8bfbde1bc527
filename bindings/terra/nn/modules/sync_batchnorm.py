"""SyncBatchNorm: PyTorch's cross-process batch normalization, run in one process.

Terra has no process groups (terra.distributed.is_available() is False), so there is never more
than one replica to synchronise with: the layer normalises like BatchNorm over every dimension
but C of an (N, C, +) input, with BatchNorm's buffers and update rule, on any device.
PyTorch 1.13 refuses every CPU input ("SyncBatchNorm expected input tensor to be on GPU") and,
while training, needs an initialised process group; Terra needs neither.
`process_group` is accepted and kept, as PyTorch keeps it.
"""

import terra

from .batchnorm import _BatchNorm

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         device=device, dtype=dtype)
        self.process_group = process_group

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input):
        self._check_input_dim(input)
        if input.size(1) == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")
        return super().forward(input)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """`module` with every BatchNorm*d layer in it (itself included) replaced by a
        SyncBatchNorm holding the same parameter and buffer tensors (shared, not copied)."""
        converted = module
        if isinstance(module, _BatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group)
            if module.affine:
                with terra.no_grad():
                    converted.weight = module.weight
                    converted.bias = module.bias
            converted.running_mean = module.running_mean
            converted.running_var = module.running_var
            converted.num_batches_tracked = module.num_batches_tracked
            if hasattr(module, "qconfig"):
                converted.qconfig = module.qconfig
        for name, child in module.named_children():
            converted.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return converted
