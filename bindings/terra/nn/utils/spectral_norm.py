"""Spectral normalization by forward pre-hook (torch.nn.utils.spectral_norm): `module.<name>` is
`<name>_orig / sigma`, sigma estimated by power iteration on the buffers `<name>_u`, `<name>_v`
(one or more iterations per forward in training mode, none in eval mode)."""

import terra

from .. import functional as F
from ..modules.conv import _ConvTransposeNd
from ..parameter import Parameter, UninitializedParameter

__all__ = ["SpectralNorm", "SpectralNormLoadStateDictPreHook", "SpectralNormStateDictHook",
           "spectral_norm", "remove_spectral_norm", "reshape_to_matrix", "power_iteration",
           "default_output_dim"]


def default_output_dim(module):
    """The weight dim of the outputs: 1 for transposed convolutions (in, out, ...), else 0."""
    return 1 if isinstance(module, _ConvTransposeNd) else 0


def reshape_to_matrix(weight, dim):
    """weight as a matrix whose rows run along `dim` (the output dimension)."""
    if dim != 0:
        weight = weight.permute(dim, *[d for d in range(weight.dim()) if d != dim])
    return weight.reshape(weight.size(0), -1)


def power_iteration(weight_mat, u, v, n_power_iterations, eps, u_first=False):
    """Updates the buffers u ~ W v and v ~ W^T u in place (without autograd), v first as in
    torch.nn.utils.spectral_norm, u first as in parametrizations.spectral_norm. In place, so the
    module's buffers are the ones that move (PyTorch writes through `out=`)."""
    with terra.no_grad():
        for _ in range(n_power_iterations):
            if u_first:
                u.copy_(F.normalize(terra.mv(weight_mat, v), dim=0, eps=eps))
                v.copy_(F.normalize(terra.mv(weight_mat.t(), u), dim=0, eps=eps))
            else:
                v.copy_(F.normalize(terra.mv(weight_mat.t(), u), dim=0, eps=eps))
                u.copy_(F.normalize(terra.mv(weight_mat, v), dim=0, eps=eps))


def random_unit_vectors(weight_mat, eps):
    """Normalized standard-normal u (one per row) and v (one per column) for the power method."""
    with terra.no_grad():
        h, w = weight_mat.shape
        u = F.normalize(weight_mat.new_empty(h).normal_(0, 1), dim=0, eps=eps)
        v = F.normalize(weight_mat.new_empty(w).normal_(0, 1), dim=0, eps=eps)
    return u, v


class SpectralNorm:
    """The forward pre-hook; `_version` 1 keeps `v` as a buffer (state dicts without it are
    converted on load)."""

    _version = 1

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        self.name = name
        self.dim = dim
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight):
        return reshape_to_matrix(weight, self.dim)

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            power_iteration(weight_mat, u, v, self.n_power_iterations, self.eps)
            # Clones: a backward through an earlier forward must see the u, v it used.
            u = u.clone()
            v = v.clone()
        sigma = terra.dot(u, terra.mv(weight_mat, v))
        return weight / sigma

    def remove(self, module):
        with terra.no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    def _solve_v_and_rescale(self, weight_mat, u, target_sigma):
        # A v with u = normalize(W v) and u W v = sigma (pinverse: W^T W may be singular).
        v = terra.linalg.multi_dot([weight_mat.t().mm(weight_mat).pinverse(), weight_mat.t(),
                                    u.unsqueeze(1)]).squeeze(1)
        return v.mul_(target_sigma / terra.dot(u, terra.mv(weight_mat, v)))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError("Cannot register two spectral_norm hooks on the same "
                                   f"parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        if isinstance(weight, UninitializedParameter):
            raise ValueError("The module passed to `SpectralNorm` can't have uninitialized "
                             "parameters. Make sure to run the dummy forward before applying "
                             "spectral normalization")
        u, v = random_unit_vectors(fn.reshape_weight_to_matrix(weight.detach()), fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        # `module.<name>` keeps existing (code may read it before the first forward), as a
        # plain tensor: a Parameter would be registered again.
        setattr(module, fn.name, weight.data)
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        module._register_state_dict_hook(SpectralNormStateDictHook(fn))
        module._register_load_state_dict_pre_hook(SpectralNormLoadStateDictPreHook(fn))
        return fn


class SpectralNormLoadStateDictPreHook:
    """Converts a state dict saved before version 1 (with `<name>` and no `<name>_v`): v solves
    W_orig v ~ u, rescaled so that W = W_orig / sigma."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs):
        fn = self.fn
        version = local_metadata.get("spectral_norm", {}).get(fn.name + ".version", None)
        if version is not None and version >= 1:
            return
        weight_key = prefix + fn.name
        if version is None and weight_key not in state_dict and \
                all(weight_key + s in state_dict for s in ("_orig", "_u", "_v")):
            return  # a current state dict without metadata
        missing = [weight_key + s for s in ("_orig", "", "_u") if weight_key + s not in state_dict]
        if missing:
            if strict:
                missing_keys.extend(missing)
            return
        with terra.no_grad():
            weight_orig = state_dict[weight_key + "_orig"]
            weight = state_dict.pop(weight_key)
            sigma = (weight_orig / weight).mean()
            weight_mat = fn.reshape_weight_to_matrix(weight_orig)
            u = state_dict[weight_key + "_u"]
            state_dict[weight_key + "_v"] = fn._solve_v_and_rescale(weight_mat, u, sigma)


class SpectralNormStateDictHook:
    """Records the SpectralNorm version in the state dict's metadata."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, module, state_dict, prefix, local_metadata):
        versions = local_metadata.setdefault("spectral_norm", {})
        key = self.fn.name + ".version"
        if key in versions:
            raise RuntimeError(f"Unexpected key in metadata['spectral_norm']: {key}")
        versions[key] = self.fn._version


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divides `module.<name>` by its spectral norm, estimated by power iteration before each
    forward; dim (the output dimension) defaults to 1 for transposed convolutions, else 0."""
    if dim is None:
        dim = default_output_dim(module)
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def _pop_hook(hooks, matches):
    """Removes and returns the first hook in `hooks` (a module's hook dict) that `matches`."""
    for key, hook in hooks.items():
        if matches(hook):
            del hooks[key]
            return hook
    return None


def remove_spectral_norm(module, name="weight"):
    """Makes `module.<name>` a plain parameter again (its current normalized value)."""
    fn = _pop_hook(module._forward_pre_hooks,
                   lambda hook: isinstance(hook, SpectralNorm) and hook.name == name)
    if fn is None:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    fn.remove(module)
    for hooks, hook_type in ((module._state_dict_hooks, SpectralNormStateDictHook),
                             (module._load_state_dict_pre_hooks, SpectralNormLoadStateDictPreHook)):
        _pop_hook(hooks, lambda hook: isinstance(hook, hook_type) and hook.fn.name == name)
    return module
