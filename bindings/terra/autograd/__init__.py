"""terra.autograd: backward, grad, grad modes, gradcheck, Function, and autograd.functional
(jacobian, hessian, vjp, jvp, hvp, vhp)."""
from .. import _C
from .grad_mode import no_grad, enable_grad, set_grad_enabled, inference_mode
from .gradcheck import gradcheck
from .anomaly_mode import detect_anomaly, set_detect_anomaly, is_anomaly_enabled
from . import function
from .function import Function, FunctionCtx, once_differentiable

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "gradcheck",
           "Variable", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "functional"]


def _as_list(x):
    if x is None:
        return None
    if isinstance(x, _C.Tensor):
        return [x]
    return list(x)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None, inputs=None):
    tensors = _as_list(tensors)
    grads = _as_list(grad_tensors if grad_tensors is not None else grad_variables) or [None] * len(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    _C._backward(tensors, grads, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=False, is_grads_batched=False):
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    grads = _as_list(grad_outputs) or [None] * len(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    return _C._grad(outputs, inputs, grads, retain_graph, create_graph, allow_unused)


def Variable(data, requires_grad=False):
    """The pre-0.4 wrapper: a tensor."""
    return data.detach().requires_grad_(requires_grad) if requires_grad else data


# After grad(): functional builds on it.
from . import functional  # noqa: E402


def __getattr__(name):
    # autograd.profiler is imported on first use (it brings terra.profiler along).
    if name == "profiler":
        import importlib
        return importlib.import_module(f"{__name__}.profiler")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
