"""Parameters to one flat vector and back (torch.nn.utils.convert_parameters)."""

import terra

from ..._C import _ops

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(param, old_param_device):
    if old_param_device is None:
        return param.device
    if param.device != old_param_device:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        "supported.")
    return old_param_device


def parameters_to_vector(parameters):
    param_device = None
    vec = []
    for param in parameters:
        param_device = _check_same_device(param, param_device)
        vec.append(_ops.reshape(param, [-1]))
    return _ops.cat(vec, 0)


def vector_to_parameters(vec, parameters):
    if not isinstance(vec, terra.Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    param_device = None
    pointer = 0
    for param in parameters:
        param_device = _check_same_device(param, param_device)
        num_param = param.numel()
        param.data = _ops.reshape(_ops.narrow(vec, 0, pointer, num_param), list(param.shape)).data
        pointer += num_param
