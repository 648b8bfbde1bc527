"""nn.DataParallel as Terra runs it: the wrapped module is called on one device.

PyTorch's DataParallel splits each batch over `device_ids`, runs a replica of the module on
every device and gathers the outputs on `output_device`. Terra does not replicate modules: with
several CUDA devices it runs the module on the first one only (and warns once), moving the inputs
there and the outputs to `output_device`. With one device, or none (CPU), this is exactly
PyTorch's behaviour: the module is simply called. The wrapper keeps PyTorch's attributes, so its
state_dict keys carry the `module.` prefix and checkpoints load in either library.
"""

import warnings
from itertools import chain

import terra

from ..modules.module import Module

__all__ = ["DataParallel", "data_parallel"]

_warned_single_device = False


def _device_index(device):
    """PyTorch's _get_device_index(device, optional=True) for CUDA devices."""
    if isinstance(device, str):
        device = terra.device(device)
    if isinstance(device, terra.device):
        if device.type == "cpu":
            raise ValueError(f"Expected a non cpu device, but got: {device}")
        return terra.cuda.current_device() if device.index is None else device.index
    if isinstance(device, int):
        return device
    if device is None:
        return terra.cuda.current_device()
    raise ValueError(f"Expected a torch.device with a specified index or an integer, "
                     f"but got:{device}")


def _to_device(obj, device):
    """`obj` with every tensor in it (through tuples, lists, dicts) moved to `device`."""
    if isinstance(obj, terra.Tensor):
        return obj.to(device)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a namedtuple
        return type(obj)(*(_to_device(o, device) for o in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to_device(o, device) for o in obj)
    if isinstance(obj, dict):
        return type(obj)((k, _to_device(v, device)) for k, v in obj.items())
    return obj


def _warn_first_device_only(device_ids):
    global _warned_single_device
    if not _warned_single_device:
        _warned_single_device = True
        warnings.warn(f"DataParallel: Terra runs the module on the first device only "
                      f"(cuda:{device_ids[0]}), without replicas on devices {device_ids[1:]}",
                      stacklevel=3)


class DataParallel(Module):
    """Calls `module`, on device_ids[0] when CUDA is available (see the module docstring:
    Terra does not replicate the module over several devices)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.dim = dim
        if not terra.cuda.is_available():
            # PyTorch ignores device_ids and output_device without CUDA.
            self.module = module
            self.device_ids = []
            self.output_device = None
            return
        if device_ids is None:
            device_ids = list(range(terra.cuda.device_count()))
        if output_device is None:
            output_device = device_ids[0]  # IndexError for [], as in PyTorch
        self.module = module
        self.device_ids = [_device_index(d) for d in device_ids]
        self.output_device = _device_index(output_device)
        self.src_device_obj = terra.device("cuda", self.device_ids[0])
        if len(self.device_ids) == 1:
            self.module.to(self.src_device_obj)

    # No record_function("DataParallel.forward") range as in PyTorch: a range's end waits for
    # queued co-executed work, which would cost a sync on every call of the wrapped model.
    def forward(self, *inputs, **kwargs):
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        for t in chain(self.module.parameters(), self.module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError(f"module must have its parameters and buffers on device "
                                   f"{self.src_device_obj} (device_ids[0]) but found one of "
                                   f"them on device: {t.device}")
        inputs = _to_device(inputs, self.src_device_obj)
        kwargs = _to_device(kwargs, self.src_device_obj)
        outputs = self.module(*inputs, **kwargs)
        if len(self.device_ids) == 1:
            return outputs
        _warn_first_device_only(self.device_ids)
        return _to_device(outputs, terra.device("cuda", self.output_device))


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0,
                  module_kwargs=None):
    """The functional form: `module(*inputs, **module_kwargs)` run as DataParallel runs it."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    wrapper = DataParallel(module, device_ids, output_device, dim)
    return wrapper(*inputs, **(module_kwargs or {}))
