"""The lazy modules (terra/nn/modules/lazy.py, nn/_uninitialized.py) against PyTorch 1.13's:
placeholders before the first forward, the shapes materialized from the input, the switch to
the regular class, forward/backward parity once PyTorch's weights are copied over, optimizers,
load_state_dict into a lazy module, conversions before materialization, and errors."""
import copy
import math
import warnings

import numpy as np
import pytest
import torch

import terra
import terra.nn as nn
from nn_parity import assert_same_error, check_module, rand


def _lazy(lib, name, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Lazy modules are a new feature ..."
        return getattr(lib.nn, name)(*args, **kwargs)


def _materialized(lib, name, args, kwargs, input_shape):
    """A lazy module after one forward of a zero-free input of input_shape (in eval mode, so
    running statistics stay at their initial values)."""
    module = _lazy(lib, name, *args, **kwargs)
    rng = np.random.default_rng(5)
    module.eval()(lib.tensor(rand(rng, *input_shape)))
    return module.train()


# (id, lazy class name, constructor args, kwargs, input shape, the class it becomes)
LAZY = [
    ("linear", "LazyLinear", (4,), {}, (3, 5), "Linear"),
    ("linear_nobias_3d", "LazyLinear", (2,), {"bias": False}, (2, 3, 6), "Linear"),
    ("conv1d", "LazyConv1d", (4, 3), {"padding": 1}, (2, 3, 7), "Conv1d"),
    ("conv2d_groups", "LazyConv2d", (6, (2, 3)), {"groups": 2, "stride": 2}, (2, 4, 6, 7), "Conv2d"),
    ("conv2d_unbatched", "LazyConv2d", (3, 2), {"bias": False}, (5, 4, 4), "Conv2d"),
    ("conv3d", "LazyConv3d", (3, 2), {"padding": 1, "padding_mode": "replicate"}, (2, 2, 3, 4, 3),
     "Conv3d"),
    ("conv_transpose1d", "LazyConvTranspose1d", (4, 3), {"stride": 2}, (2, 3, 5), "ConvTranspose1d"),
    ("conv_transpose2d_groups", "LazyConvTranspose2d", (4, 3), {"groups": 2, "output_padding": 1,
                                                                 "stride": 2},
     (2, 6, 3, 4), "ConvTranspose2d"),
    ("conv_transpose3d", "LazyConvTranspose3d", (2, 2), {"dilation": (1, 2, 1)}, (2, 3, 3, 2, 3),
     "ConvTranspose3d"),
    ("batch_norm1d", "LazyBatchNorm1d", (), {}, (4, 3), "BatchNorm1d"),
    ("batch_norm2d_momentum", "LazyBatchNorm2d", (), {"momentum": 0.3}, (3, 2, 4, 4), "BatchNorm2d"),
    ("batch_norm3d_no_affine", "LazyBatchNorm3d", (), {"affine": False}, (2, 3, 2, 3, 2),
     "BatchNorm3d"),
    ("instance_norm1d", "LazyInstanceNorm1d", (), {}, (2, 3, 6), "InstanceNorm1d"),
    ("instance_norm2d_stateless", "LazyInstanceNorm2d", (),
     {"affine": False, "track_running_stats": False}, (2, 3, 4, 5), "InstanceNorm2d"),
    ("instance_norm3d", "LazyInstanceNorm3d", (), {"eps": 1e-3}, (2, 2, 3, 4, 3), "InstanceNorm3d"),
]
_IDS = [c[0] for c in LAZY]


def _shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


@pytest.mark.parametrize("case", LAZY, ids=_IDS)
def test_placeholders_before_forward(case):
    _, name, args, kwargs, _, _ = case
    t, x = _lazy(torch, name, *args, **kwargs), _lazy(terra, name, *args, **kwargs)
    assert type(x).__name__ == name
    assert repr(x) == repr(t)
    assert x.has_uninitialized_params() == t.has_uninitialized_params()
    t_state, x_state = t.state_dict(), x.state_dict()
    assert list(x_state) == list(t_state)
    for key, value in t_state.items():
        assert type(x_state[key]).__name__ == type(value).__name__, key
        assert repr(x_state[key]) == repr(value)


@pytest.mark.parametrize("case", LAZY, ids=_IDS)
def test_materialized_shapes_and_class(case):
    _, name, args, kwargs, shape, becomes = case
    t = _materialized(torch, name, args, kwargs, shape)
    x = _materialized(terra, name, args, kwargs, shape)
    assert type(x) is getattr(nn, becomes) and type(t) is getattr(torch.nn, becomes)
    assert _shapes(x) == _shapes(t)
    assert repr(x) == repr(t)
    for value in x.parameters():
        assert type(value) is nn.Parameter
    for value in x.buffers():
        assert type(value) is terra.Tensor


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", LAZY, ids=_IDS)
def test_forward_backward_with_torch_weights(case, dtype):
    """Once materialized, the layer runs as the regular one: PyTorch's weights in, PyTorch's
    outputs, running statistics and gradients out."""
    _, name, args, kwargs, shape, _ = case
    rng = np.random.default_rng(0)
    check_module(lambda: _materialized(torch, name, args, kwargs, shape),
                 lambda: _materialized(terra, name, args, kwargs, shape), [rand(rng, *shape)],
                 dtype, train=True)


def test_default_initialisation_bounds():
    """The regular layer's reset_parameters runs on materialization: kaiming-uniform bounds."""
    terra.manual_seed(0)
    linear = _materialized(terra, "LazyLinear", (50,), {}, (2, 40))
    bound = 1 / math.sqrt(40)
    for p in (linear.weight, linear.bias):
        values = p.detach().numpy()
        assert np.abs(values).max() <= bound and values.std() > bound / 3
    norm = _materialized(terra, "LazyBatchNorm1d", (), {}, (2, 7))
    assert (norm.weight.detach().numpy() == 1).all() and (norm.bias.detach().numpy() == 0).all()
    assert (norm.running_var.numpy() == 1).all() and int(norm.num_batches_tracked) == 0


def test_optimizer_built_before_the_first_forward():
    """Materialization keeps the Parameter objects, so an optimizer made first updates them."""
    model = nn.Sequential(_lazy(terra, "LazyConv2d", 4, 3), nn.ReLU(), nn.Flatten(),
                          _lazy(terra, "LazyLinear", 2))
    optimizer = terra.optim.SGD(model.parameters(), lr=0.1)
    x = terra.tensor(rand(np.random.default_rng(0), 2, 3, 5, 5))
    before = None
    for _ in range(2):
        optimizer.zero_grad()
        loss = model(x).pow(2).sum()
        loss.backward()
        optimizer.step()
        if before is None:
            before = float(loss)
    assert float(model(x).pow(2).sum()) < before
    assert [type(m).__name__ for m in model] == ["Conv2d", "ReLU", "Flatten", "Linear"]


def test_optimizer_built_after_materialization():
    model = _materialized(terra, "LazyLinear", (3,), {}, (4, 6))
    optimizer = terra.optim.Adam(model.parameters(), lr=0.01)
    x = terra.tensor(rand(np.random.default_rng(1), 4, 6))
    weight = model.weight.detach().clone()
    model(x).sum().backward()
    optimizer.step()
    assert not np.allclose(model.weight.detach().numpy(), weight.numpy())


def test_load_state_dict_materializes():
    """A regular layer's state loads into the lazy one, which stays lazy until its forward."""
    source = nn.Linear(5, 3)
    lazy = _lazy(terra, "LazyLinear", 3)
    lazy.load_state_dict(source.state_dict())
    assert type(lazy).__name__ == "LazyLinear" and not lazy.has_uninitialized_params()
    assert tuple(lazy.weight.shape) == (3, 5) and type(lazy.weight) is nn.Parameter
    x = terra.tensor(rand(np.random.default_rng(2), 2, 5))
    np.testing.assert_array_equal(lazy(x).detach().numpy(), source(x).detach().numpy())
    assert type(lazy) is nn.Linear

    norm = _lazy(terra, "LazyBatchNorm2d")
    norm.load_state_dict(nn.BatchNorm2d(4).state_dict())
    assert type(norm.running_mean) is terra.Tensor and tuple(norm.running_mean.shape) == (4,)


def test_uninitialized_state_loads_into_lazy_module():
    lazy = _lazy(terra, "LazyConv1d", 2, 3)
    lazy.load_state_dict(_lazy(terra, "LazyConv1d", 2, 3).state_dict())
    assert lazy.has_uninitialized_params()


def test_conversions_before_materialization():
    """dtype given or set by .double() before the first forward is the parameters' dtype."""
    linear = _lazy(terra, "LazyLinear", 3, dtype=terra.float64)
    assert linear.weight.dtype == terra.float64
    norm = _lazy(terra, "LazyBatchNorm1d").double()
    assert type(norm.running_mean).__name__ == "UninitializedBuffer"
    assert norm.running_mean.dtype == terra.float64 and norm.weight.dtype == terra.float64
    norm(terra.tensor(rand(np.random.default_rng(3), 4, 2, dtype="float64")))
    assert norm.running_mean.dtype == terra.float64 and norm.weight.dtype == terra.float64


def test_deepcopy_before_materialization():
    lazy = _lazy(terra, "LazyConv2d", 2, 3)
    twin = copy.deepcopy(lazy)
    twin(terra.tensor(rand(np.random.default_rng(4), 1, 3, 4, 4)))
    assert type(twin) is nn.Conv2d and lazy.has_uninitialized_params()


def test_placeholder_api():
    for lib in (torch, terra):
        p = lib.nn.UninitializedParameter()
        assert repr(p) == "<UninitializedParameter>" and str(p) == "<UninitializedParameter>"
        assert p.requires_grad
        assert repr(lib.nn.UninitializedBuffer()) == "<UninitializedBuffer>"
        p.materialize((2, 3))
        assert type(p) is lib.nn.Parameter and tuple(p.shape) == (2, 3)
        b = lib.nn.UninitializedBuffer()
        b.materialize((4,))
        assert type(b) is lib.Tensor and tuple(b.shape) == (4,)
    assert_same_error(lambda: torch.nn.UninitializedParameter().shape,
                      lambda: terra.nn.UninitializedParameter().shape, same_message=True)


def test_errors():
    """Wrong input rank, channels that groups do not divide, a placeholder's shape."""
    rng = np.random.default_rng(6)
    for name, args, kwargs, shape in [("LazyConv2d", (4, 3), {}, (2, 5)),
                                      ("LazyConvTranspose3d", (4, 3), {}, (2, 3, 5)),
                                      ("LazyConv1d", (4, 3), {"groups": 2}, (2, 3, 5))]:
        x = rand(rng, *shape)
        torch_message, terra_message = assert_same_error(
            lambda: _lazy(torch, name, *args, **kwargs)(torch.tensor(x)),
            lambda: _lazy(terra, name, *args, **kwargs)(terra.tensor(x)))
        assert terra_message.replace("terra.Size", "torch.Size") == torch_message


def test_unbatched_instance_norm_reads_the_channel_dimension():
    """PyTorch 1.13 reads dim 1 of an unbatched input (and then fails); terra reads the channels
    and matches InstanceNorm1d with those features."""
    x = rand(np.random.default_rng(7), 3, 6, dtype="float64")
    lazy = _lazy(terra, "LazyInstanceNorm1d").double()
    out = lazy(terra.tensor(x))
    regular = torch.nn.InstanceNorm1d(3, affine=True, track_running_stats=True).double()
    np.testing.assert_allclose(out.detach().numpy(), regular(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-10)
    assert lazy.num_features == 3
