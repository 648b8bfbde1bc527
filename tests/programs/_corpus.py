"""What every program in this corpus shares (see README.md): `seed` seeds PyTorch's and numpy's
random streams, `report` prints a value in one stable format, and `finish` saves the final state
for the suite to compare when TERRA_PROGRAM_OUT names an .npz file. Under a default device other
than the CPU (the suite's CUDA runs: `terra run --device cuda`) the programs' numpy data follows
it (see _follow_the_default_device)."""
import os

import numpy as np
import torch


def _follow_the_default_device():
    """The programs were written for the CPU and build their data with numpy. When the default
    device is not the CPU, torch.from_numpy here puts that data on the default device (PyTorch
    keeps it on the CPU) and Tensor.numpy() reads a device tensor back through the host, so every
    program runs unchanged on CUDA. CPU runs and PyTorch 1.13 (no get_default_device) are
    untouched."""
    get_default_device = getattr(torch, "get_default_device", None)
    if get_default_device is None or get_default_device().type == "cpu":
        return
    device = get_default_device()
    from_numpy, to_numpy = torch.from_numpy, torch.Tensor.numpy
    torch.from_numpy = lambda array: from_numpy(array).to(device)
    torch.Tensor.numpy = lambda self, *args, **kwargs: to_numpy(self.cpu(), *args, **kwargs)


_follow_the_default_device()


def seed(value):
    """Seeds torch and numpy's global stream; returns a numpy Generator for the program's data."""
    torch.manual_seed(value)
    np.random.seed(value)
    return np.random.default_rng(value)


def _text(value):
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    if isinstance(value, (float, np.floating)):
        return f"{value:.9g}"  # enough digits to tell any two float32 values apart
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_text(v) for v in value) + "]"
    return str(value)


def report(name, value):
    print(f"{name} {_text(value)}")


def _collect(prefix, value, arrays):
    if isinstance(value, torch.Tensor):
        arrays[prefix] = value.detach().cpu().numpy()
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect(f"{prefix}.{key}", item, arrays)
    elif isinstance(value, (list, tuple)):
        for key, item in enumerate(value):
            _collect(f"{prefix}.{key}", item, arrays)


def finish(*items):
    """Saves each module's or optimizer's state_dict tensors as `s<i>.<key>...` and each tensor
    as `t<i>` (i: the argument's position) to the file TERRA_PROGRAM_OUT names, if it is set."""
    path = os.environ.get("TERRA_PROGRAM_OUT")
    if not path:
        return
    arrays = {}
    for i, item in enumerate(items):
        if isinstance(item, torch.Tensor):
            _collect(f"t{i}", item, arrays)
        else:
            _collect(f"s{i}", item.state_dict(), arrays)
    np.savez(path, **arrays)
