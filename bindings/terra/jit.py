"""terra.jit: torch.jit's entry points as training scripts use them, to compile a module or a
function for speed. Terra traces and compiles the program's loop itself (DESIGN.md §7-§8), so
script() and trace() return what they are given, which computes the same; the TorchScript object
model (.code, .graph, torch.jit.save and load) is not there."""


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    return obj


def trace(func, example_inputs=None, *args, **kwargs):
    return func


def _identity_decorator(fn=None, *args, **kwargs):
    return fn


ignore = unused = export = _identity_decorator


def is_scripting():
    return False


def is_tracing():
    return False
