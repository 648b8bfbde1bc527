"""terra.utils.checkpoint: torch.utils.checkpoint's activation checkpointing, as a plain call.
PyTorch recomputes the function during backward to save activation memory; Terra keeps the
activations, so the gradients are the same and the memory saving is not there."""


def checkpoint(function, *args, use_reentrant=True, preserve_rng_state=True, **kwargs):
    return function(*args, **kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=True, preserve_rng_state=True):
    children = list(functions.children()) if hasattr(functions, "children") else list(functions)
    for fn in children:
        input = fn(input)
    return input


__all__ = ["checkpoint", "checkpoint_sequential"]
