"""The `Optimizer` base class: parameter groups, per-parameter state, state_dict in PyTorch 1.13's
format, zero_grad, and the no-grad/closure protocol every `step()` shares.

Subclasses implement `_update_group(group)`, which applies one step to the parameters of one group
that have a gradient; `step(closure)` wraps it (closure under grad mode, update under no_grad).

Note [Python step counts]: PyTorch 1.13 keeps Adam's, AdamW's and Adagrad's `state['step']` as a
0-dim tensor and reads it back with `.item()` on every step. Here the running state keeps a Python
float instead: incrementing a tensor and fetching it would cost two op calls per parameter per step
and, under co-execution, a sync point (a fetch) per parameter. `state_dict()` hands out the 1.13
layout (a float32 0-dim tensor) and `load_state_dict()` accepts either form.
"""
from collections import defaultdict
from collections import abc as container_abcs
import copy
import warnings

import terra
from terra._zero_grad import zero_grads

__all__ = ['Optimizer', 'required']


class _RequiredParameter(object):
    """Singleton for a hyperparameter without a default (SGD's lr)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _unsupported_flags(**flags):
    """Raises for the torch options that only have a meaning Terra does not implement."""
    for name, value in flags.items():
        if value:
            raise NotImplementedError(f"terra.optim: {name}=True is not supported")


_ARG_LABELS = {'lr': 'learning rate', 'eps': 'epsilon value'}


def _check_nonnegative(**values):
    """Raises PyTorch's ValueError for the first negative hyperparameter."""
    for name, value in values.items():
        if not 0.0 <= value:
            raise ValueError("Invalid {}: {}".format(_ARG_LABELS.get(name, name + ' value'), value))


class Optimizer(object):
    """Base class for all optimizers (torch.optim.Optimizer)."""

    # State entries a PyTorch 1.13 state_dict stores as float32 0-dim tensors and this one keeps as
    # Python floats while training (Note [Python step counts]).
    _tensor_state = ()

    def __init__(self, params, defaults):
        self.defaults = defaults
        if isinstance(params, terra.Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + terra.typename(params))
        self.state = defaultdict(dict)
        self.param_groups = []

        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{'params': param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self):
        return {'defaults': self.defaults, 'state': self.state, 'param_groups': self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        # Groups saved before an option existed take this optimizer's default for it.
        for group in self.param_groups:
            for name, default in self.defaults.items():
                if default is not required:
                    group.setdefault(name, default)

    def __repr__(self):
        format_string = self.__class__.__name__ + ' ('
        for i, group in enumerate(self.param_groups):
            format_string += '\n'
            format_string += 'Parameter Group {0}\n'.format(i)
            for key in sorted(group.keys()):
                if key != 'params':
                    format_string += '    {0}: {1}\n'.format(key, group[key])
        format_string += ')'
        return format_string

    # ---------------------------------------------------------------- parameter groups

    def add_param_group(self, param_group):
        """Adds a group of parameters with its own options (the others come from defaults)."""
        assert isinstance(param_group, dict), "param group must be a dict"
        params = param_group['params']
        if isinstance(params, terra.Tensor):
            param_group['params'] = [params]
        elif isinstance(params, set):
            raise TypeError('optimizer parameters need to be organized in ordered collections, but '
                            'the ordering of tensors in sets will change between runs. Please use a list instead.')
        else:
            param_group['params'] = list(params)

        for param in param_group['params']:
            if not isinstance(param, terra.Tensor):
                raise TypeError("optimizer can only optimize Tensors, "
                                "but one of the params is " + terra.typename(param))
            if not (param.is_leaf or getattr(param, 'retains_grad', False)):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required optimization "
                                 "parameter " + name)
            param_group.setdefault(name, default)

        ids = [id(p) for p in param_group['params']]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; "
                          "see github.com/pytorch/pytorch/issues/40967 for more information", stacklevel=3)
        seen = {id(p) for group in self.param_groups for p in group['params']}
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---------------------------------------------------------------- gradients and steps

    def zero_grad(self, set_to_none=False):
        """Clears the gradients: zeroes them in place (the default, as in PyTorch 1.13: a stateful
        optimizer still steps a parameter whose gradient stays zero), or sets them to None."""
        for group in self.param_groups:
            zero_grads(group['params'], set_to_none)

    def step(self, closure=None):
        """Performs one optimization step; returns the closure's loss (None without a closure)."""
        loss = None
        if closure is not None:
            with terra.enable_grad():
                loss = closure()
        with terra.no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _update_group(self, group):
        raise NotImplementedError

    def _init_state(self, p, group, state):
        """Fills the empty state of p before its first update (the optimizer's buffers)."""

    def _grads(self, group, weight_decay=None):
        """(p, g, state) for each parameter of group with a gradient: g is the gradient negated
        under maximize, plus weight_decay * p (L2 weight decay) when weight_decay is non-zero;
        state is p's state, initialized by _init_state the first time."""
        maximize = group.get('maximize', False)
        all_state = self.state
        for p in group['params']:
            grad = p.grad
            if grad is None:
                continue
            if maximize:
                grad = -grad
            if weight_decay:
                grad = grad.add(p, alpha=weight_decay)
            state = all_state[p]
            if not state:
                self._init_state(p, group, state)
            yield p, grad, state

    # ---------------------------------------------------------------- state_dict

    def state_dict(self):
        """{'state': {index: per-parameter state}, 'param_groups': [{..., 'params': [indices]}]}.

        As in PyTorch, the state's tensors are the optimizer's own (not copies)."""
        param_mappings = {}
        start_index = 0

        def pack_group(group):
            nonlocal start_index
            packed = {k: v for k, v in group.items() if k != 'params'}
            param_mappings.update({id(p): i for i, p in enumerate(group['params'], start_index)
                                   if id(p) not in param_mappings})
            packed['params'] = [param_mappings[id(p)] for p in group['params']]
            start_index += len(packed['params'])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {}
        for k, v in self.state.items():
            key = param_mappings[id(k)] if isinstance(k, terra.Tensor) else k
            as_tensors = [name for name in self._tensor_state if name in v and not isinstance(v[name], terra.Tensor)]
            if as_tensors:
                v = dict(v)
                for name in as_tensors:
                    v[name] = terra.tensor(float(v[name]))
            packed_state[key] = v
        return {'state': packed_state, 'param_groups': param_groups}

    def load_state_dict(self, state_dict):
        """Loads a state_dict() (this optimizer's or PyTorch 1.13's layout): copies its tensors,
        casts floating-point state to each parameter's dtype."""
        groups = self.param_groups
        saved_groups = state_dict['param_groups']
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g['params']) != len(s['params']) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group "
                             "that doesn't match the size of optimizer's group")

        id_map = {old_id: p for old_id, p in
                  zip((i for g in saved_groups for i in g['params']),
                      (p for g in groups for p in g['params']))}

        state = defaultdict(dict)
        for k, v in state_dict['state'].items():
            if k in id_map:
                param = id_map[k]
                state[param] = self._load_param_state(param, v)
            else:
                state[k] = _copy_value(v)

        param_groups = []
        for group, saved in zip(groups, saved_groups):
            new_group = {k: _copy_value(v) for k, v in saved.items() if k != 'params'}
            new_group['params'] = group['params']
            param_groups.append(new_group)
        self.__setstate__({'state': state, 'param_groups': param_groups})

    def _load_param_state(self, param, value):
        out = {k: _cast(param, v, key=k) for k, v in value.items()}
        for name in self._tensor_state:
            if isinstance(out.get(name), terra.Tensor):
                out[name] = float(out[name].item())
        return out


def _copy_value(value):
    """A deep copy that clones terra tensors (the state_dict's owner keeps its own)."""
    if isinstance(value, terra.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _copy_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, '_fields'):
        return type(value)(_copy_value(v) for v in value)
    return copy.deepcopy(value)


def _cast(param, value, key=None):
    """A copy of value with floating-point tensors in param's dtype and all tensors on its device
    ('step' keeps its dtype, as in PyTorch)."""
    if isinstance(value, terra.Tensor):
        value = value.detach()
        if key != 'step':
            if param.is_floating_point() and value.dtype != param.dtype:
                value = value.to(param.dtype)
            if value.device != param.device:
                value = value.to(param.device)
        return value.clone()
    if isinstance(value, dict):
        return {k: _cast(param, v, key=k) for k, v in value.items()}
    if isinstance(value, str):
        return value
    if isinstance(value, container_abcs.Iterable):
        return type(value)(_cast(param, v) for v in value)
    return value
