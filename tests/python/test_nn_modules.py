"""terra.nn layers against PyTorch 1.13: outputs, input and parameter gradients, running
statistics, and the Module API (registration, state_dict, hooks, train/eval, repr, errors)."""
import copy
import io
import math
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch

import terra
import terra.nn as nn
from nn_parity import DTYPES, assert_same_error, check_module, close, phases, rand
from parity import copy_state, to_numpy


# Input makers: (rng, dtype) -> numpy array.
def Fl(*shape, scale=1.0):
    return lambda rng, dt: rand(rng, *shape, dtype=dt) * np.asarray(scale, dtype=dt)


def Int(high, *shape, low=0):
    return lambda rng, dt: rng.integers(low, high, size=shape).astype(np.int64)


def Prob(*shape):
    return lambda rng, dt: rng.uniform(0.05, 0.95, size=shape).astype(dt)


def Dist(*shape):
    """Rows of a probability distribution over dim 1."""
    def make(rng, dt):
        x = rng.uniform(0.1, 1.0, size=shape)
        return (x / x.sum(axis=1, keepdims=True)).astype(dt)
    return make


# (id, class name, args, kwargs, inputs, options)
LAYERS = [
    ("linear", "Linear", (3, 4), {}, [Fl(5, 3)], {}),
    ("linear_nobias_3d", "Linear", (3, 4), {"bias": False}, [Fl(2, 5, 3)], {}),
    ("conv1d", "Conv1d", (3, 4, 3), {}, [Fl(2, 3, 9)], {}),
    ("conv1d_stride_pad_dil", "Conv1d", (3, 4, 3), {"stride": 2, "padding": 1, "dilation": 2},
     [Fl(2, 3, 11)], {}),
    ("conv1d_same_groups", "Conv1d", (4, 4, 4), {"padding": "same", "groups": 2}, [Fl(2, 4, 7)], {}),
    ("conv2d", "Conv2d", (3, 4, 3), {}, [Fl(2, 3, 7, 7)], {}),
    ("conv2d_groups_rect", "Conv2d", (3, 6, (3, 2)),
     {"stride": (2, 1), "padding": (1, 0), "groups": 3, "bias": False}, [Fl(2, 3, 7, 6)], {}),
    ("conv2d_same_even", "Conv2d", (2, 4, 4), {"padding": "same"}, [Fl(2, 2, 6, 5)], {}),
    ("conv2d_valid_dilated", "Conv2d", (2, 3, 3), {"padding": "valid", "dilation": 2},
     [Fl(2, 2, 8, 8)], {}),
    ("conv2d_reflect", "Conv2d", (2, 3, 3), {"padding": (1, 2), "padding_mode": "reflect"},
     [Fl(2, 2, 5, 6)], {}),
    ("conv2d_unbatched", "Conv2d", (2, 3, 3), {"padding": 1}, [Fl(2, 5, 5)], {}),
    ("conv2d_replicate", "Conv2d", (2, 3, 3), {"padding": (2, 1), "padding_mode": "replicate"},
     [Fl(2, 2, 5, 6)], {}),
    ("conv2d_circular", "Conv2d", (2, 3, 3), {"padding": "same", "padding_mode": "circular"},
     [Fl(2, 2, 5, 6)], {}),
    ("conv1d_circular", "Conv1d", (2, 3, 3), {"padding": 2, "padding_mode": "circular"},
     [Fl(2, 2, 7)], {}),
    ("conv_transpose2d", "ConvTranspose2d", (3, 4, 3),
     {"stride": 2, "padding": 1, "output_padding": 1}, [Fl(2, 3, 5, 5)], {}),
    ("conv_transpose2d_groups", "ConvTranspose2d", (4, 6, 3), {"groups": 2}, [Fl(2, 4, 4, 4)], {}),
    ("conv_transpose1d", "ConvTranspose1d", (3, 4, 3), {"stride": 2}, [Fl(2, 3, 6)], {}),
    ("maxpool2d", "MaxPool2d", (2,), {}, [Fl(2, 3, 6, 6)], {}),
    ("maxpool2d_pad_ceil", "MaxPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True},
     [Fl(2, 3, 8, 7)], {}),
    ("maxpool2d_indices", "MaxPool2d", (2,), {"return_indices": True}, [Fl(2, 3, 6, 4)], {}),
    ("maxpool1d", "MaxPool1d", (2,), {}, [Fl(2, 3, 8)], {}),
    ("avgpool2d", "AvgPool2d", (2,), {}, [Fl(2, 3, 6, 6)], {}),
    ("avgpool2d_nopad_count", "AvgPool2d", (3, 2, 1), {"count_include_pad": False},
     [Fl(2, 3, 7, 7)], {}),
    ("avgpool1d", "AvgPool1d", (3, 2), {}, [Fl(2, 3, 9)], {}),
    ("adaptive_avgpool2d", "AdaptiveAvgPool2d", ((3, 2),), {}, [Fl(2, 3, 7, 5)], {}),
    ("adaptive_avgpool2d_1", "AdaptiveAvgPool2d", (1,), {}, [Fl(2, 3, 4, 5)], {}),
    ("adaptive_avgpool1d", "AdaptiveAvgPool1d", (3,), {}, [Fl(2, 3, 7)], {}),
    ("batchnorm1d_train", "BatchNorm1d", (4,), {}, [Fl(5, 4)], {"train": True}),
    ("batchnorm1d_eval", "BatchNorm1d", (4,), {}, [Fl(5, 4)], {}),
    ("batchnorm1d_3d_train", "BatchNorm1d", (4,), {}, [Fl(3, 4, 6)], {"train": True}),
    ("batchnorm2d_train", "BatchNorm2d", (3,), {}, [Fl(2, 3, 4, 4)], {"train": True}),
    ("batchnorm2d_eval", "BatchNorm2d", (3,), {}, [Fl(2, 3, 4, 4)], {}),
    ("batchnorm2d_cumulative", "BatchNorm2d", (3,), {"momentum": None}, [Fl(2, 3, 4, 4)],
     {"train": True}),
    ("batchnorm2d_noaffine", "BatchNorm2d", (3,), {"affine": False, "eps": 1e-3},
     [Fl(2, 3, 4, 4)], {"train": True}),
    ("batchnorm2d_nostats", "BatchNorm2d", (3,), {"track_running_stats": False},
     [Fl(2, 3, 4, 4)], {}),
    ("layernorm", "LayerNorm", (6,), {}, [Fl(3, 6)], {}),
    ("layernorm_2d_noaffine", "LayerNorm", ((4, 5),), {"elementwise_affine": False},
     [Fl(2, 4, 5)], {}),
    ("layernorm_eps", "LayerNorm", (5,), {"eps": 1e-3}, [Fl(2, 3, 5)], {}),
    ("groupnorm", "GroupNorm", (2, 4), {}, [Fl(3, 4, 5)], {}),
    ("groupnorm_noaffine", "GroupNorm", (3, 6), {"affine": False}, [Fl(2, 6, 2, 3)], {}),
    ("instancenorm1d", "InstanceNorm1d", (3,), {}, [Fl(2, 3, 6)], {"train": True}),
    ("instancenorm1d_unbatched_eval", "InstanceNorm1d", (3,), {"affine": True}, [Fl(3, 6)], {}),
    ("instancenorm2d_stats_train", "InstanceNorm2d", (3,),
     {"affine": True, "track_running_stats": True, "momentum": 0.2}, [Fl(2, 3, 4, 5)],
     {"train": True}),
    ("instancenorm2d_stats_eval", "InstanceNorm2d", (3,), {"track_running_stats": True},
     [Fl(2, 3, 4, 5)], {}),
    ("instancenorm3d", "InstanceNorm3d", (2,), {"affine": True, "eps": 1e-3}, [Fl(2, 2, 3, 4, 2)],
     {"train": True}),
    ("instancenorm3d_unbatched_stats", "InstanceNorm3d", (2,), {"track_running_stats": True},
     [Fl(2, 3, 4, 2)], {"train": True}),
    ("zeropad2d", "ZeroPad2d", ((1, 2, 0, 3),), {}, [Fl(2, 3, 4, 5)], {}),
    ("constantpad1d", "ConstantPad1d", (2, 1.5), {}, [Fl(2, 3, 4)], {}),
    ("constantpad2d_crop", "ConstantPad2d", ((1, -1, 2, 0), -0.5), {}, [Fl(3, 4, 5)], {}),
    ("constantpad3d", "ConstantPad3d", (1, 0.25), {}, [Fl(1, 2, 2, 3, 4)], {}),
    ("reflectionpad1d", "ReflectionPad1d", ((3, 1),), {}, [Fl(2, 3, 5)], {}),
    ("reflectionpad2d", "ReflectionPad2d", (2,), {}, [Fl(2, 3, 4, 5)], {}),
    ("reflectionpad3d", "ReflectionPad3d", ((1, 2, 0, 1, 2, 1),), {}, [Fl(1, 2, 3, 4, 5)], {}),
    ("replicationpad1d_unbatched", "ReplicationPad1d", (3,), {}, [Fl(3, 4)], {}),
    ("replicationpad2d", "ReplicationPad2d", ((1, 0, 3, 2),), {}, [Fl(2, 3, 4, 5)], {}),
    ("replicationpad3d_unbatched", "ReplicationPad3d", (2,), {}, [Fl(2, 2, 3, 4)], {}),
    ("dropout_eval", "Dropout", (0.3,), {}, [Fl(4, 5)], {}),
    ("embedding", "Embedding", (10, 4), {}, [Int(10, 3, 5)], {}),
    ("embedding_padding", "Embedding", (10, 4), {"padding_idx": 0}, [Int(3, 4, 6)], {}),
    ("flatten", "Flatten", (), {}, [Fl(2, 3, 4, 2)], {}),
    ("flatten_range", "Flatten", (0, 1), {}, [Fl(2, 3, 4)], {}),
    ("unflatten", "Unflatten", (1, (2, 3)), {}, [Fl(2, 6, 2)], {}),
    ("identity", "Identity", (7,), {"x": 1}, [Fl(3, 2)], {}),
    ("cosine_similarity", "CosineSimilarity", (0,), {}, [Fl(4, 3), Fl(4, 3)], {}),
    ("pairwise_distance", "PairwiseDistance", (), {"p": 1.0}, [Fl(4, 3), Fl(4, 3)], {}),
    ("upsample_nearest", "Upsample", (), {"scale_factor": 2}, [Fl(2, 3, 3, 4)], {}),
    ("upsample_size", "Upsample", (), {"size": (5, 7)}, [Fl(2, 3, 3, 4)], {}),
]

ACT_INPUT = Fl(4, 3, 5, scale=3.0)
ACTIVATIONS = [
    ("relu", "ReLU", (), {}), ("relu_inplace", "ReLU", (), {"inplace": True}),
    ("gelu", "GELU", (), {}), ("gelu_tanh", "GELU", (), {"approximate": "tanh"}),
    ("silu", "SiLU", (), {}), ("tanh", "Tanh", (), {}), ("sigmoid", "Sigmoid", (), {}),
    ("leaky_relu", "LeakyReLU", (0.2,), {}), ("elu", "ELU", (0.5,), {}),
    ("softplus", "Softplus", (2, 4), {}), ("softmax", "Softmax", (1,), {}),
    ("log_softmax", "LogSoftmax", (-1,), {}), ("softmin", "Softmin", (2,), {}),
    ("relu6", "ReLU6", (), {}), ("hardtanh", "Hardtanh", (-0.5, 0.8), {}), ("mish", "Mish", (), {}),
    ("hardswish", "Hardswish", (), {}), ("hardsigmoid", "Hardsigmoid", (), {}, {"rtol": 1e-7}),
    ("selu", "SELU", (), {}), ("celu", "CELU", (0.7,), {}, {"rtol": 1e-7}), ("logsigmoid", "LogSigmoid", (), {}),
    ("softsign", "Softsign", (), {}), ("tanhshrink", "Tanhshrink", (), {}),
    ("prelu", "PReLU", (), {}), ("prelu_channels", "PReLU", (3,), {}), ("glu", "GLU", (0,), {}),
    ("threshold", "Threshold", (0.1, 20.0), {}),
]

LOSSES = [
    ("cross_entropy", "CrossEntropyLoss", {}, [Fl(5, 4, scale=2), Int(4, 5)]),
    ("cross_entropy_sum", "CrossEntropyLoss", {"reduction": "sum"}, [Fl(5, 4), Int(4, 5)]),
    ("cross_entropy_none", "CrossEntropyLoss", {"reduction": "none"}, [Fl(5, 4), Int(4, 5)]),
    ("cross_entropy_ignore", "CrossEntropyLoss", {"ignore_index": 1}, [Fl(6, 3), Int(3, 6)]),
    ("cross_entropy_smoothing", "CrossEntropyLoss", {"label_smoothing": 0.1},
     [Fl(5, 4), Int(4, 5)]),
    ("cross_entropy_kdim", "CrossEntropyLoss", {}, [Fl(3, 4, 5), Int(4, 3, 5)]),
    ("cross_entropy_probs", "CrossEntropyLoss", {}, [Fl(5, 4), Dist(5, 4)]),
    ("nll", "NLLLoss", {}, [Fl(5, 4), Int(4, 5)]),
    ("nll_ignore_none", "NLLLoss", {"ignore_index": 2, "reduction": "none"}, [Fl(6, 4), Int(4, 6)]),
    ("mse", "MSELoss", {}, [Fl(4, 5), Fl(4, 5)]),
    ("mse_sum", "MSELoss", {"reduction": "sum"}, [Fl(4, 5), Fl(4, 5)]),
    ("l1", "L1Loss", {}, [Fl(4, 5), Fl(4, 5)]),
    ("l1_none", "L1Loss", {"reduction": "none"}, [Fl(4, 5), Fl(4, 5)]),
    ("smooth_l1", "SmoothL1Loss", {"beta": 0.5}, [Fl(4, 5, scale=2), Fl(4, 5)]),
    ("huber", "HuberLoss", {"delta": 0.7}, [Fl(4, 5, scale=2), Fl(4, 5)]),
    ("bce", "BCELoss", {}, [Prob(4, 5), Prob(4, 5)]),
    ("bce_none", "BCELoss", {"reduction": "none"}, [Prob(4, 5), Prob(4, 5)]),
    ("bce_logits", "BCEWithLogitsLoss", {}, [Fl(4, 5, scale=3), Prob(4, 5)]),
    ("kl_div", "KLDivLoss", {"reduction": "batchmean"}, [Fl(4, 5), Dist(4, 5)]),
]
WEIGHTED_LOSSES = [
    ("cross_entropy_weight", "CrossEntropyLoss", {}, "weight", (4,), [Fl(5, 4), Int(4, 5)]),
    ("nll_weight", "NLLLoss", {}, "weight", (4,), [Fl(5, 4), Int(4, 5)]),
    ("bce_weight", "BCELoss", {}, "weight", (4, 5), [Prob(4, 5), Prob(4, 5)]),
    ("bce_logits_weight", "BCEWithLogitsLoss", {}, "weight", (5,), [Fl(4, 5), Prob(4, 5)]),
    ("bce_logits_pos_weight", "BCEWithLogitsLoss", {}, "pos_weight", (5,), [Fl(4, 5), Prob(4, 5)]),
]


def _inputs(makers, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [m(rng, dtype) for m in makers]


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer(case, dtype, grad):
    _, name, args, kwargs, makers, opts = case
    check_module(lambda: getattr(torch.nn, name)(*args, **kwargs),
                 lambda: getattr(nn, name)(*args, **kwargs), _inputs(makers, dtype), dtype,
                 grad=grad, **opts)


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ACTIVATIONS, ids=[c[0] for c in ACTIVATIONS])
def test_activation(case, dtype, grad):
    _, name, args, kwargs = case[:4]
    # PyTorch computes some constants of these in float32 even for float64 tensors (1/6 in
    # hardsigmoid's gradient, 1/alpha in celu): compare float64 at that precision there.
    rtol = case[4]["rtol"] if len(case) > 4 and dtype == "float64" else None
    # In-place activations write into their input, which autograd forbids on a leaf: they get a
    # copy made inside the call.
    inplace = kwargs.get("inplace", False)
    call = (lambda m, x: m(x * 1.0)) if inplace else None
    check_module(lambda: getattr(torch.nn, name)(*args, **kwargs),
                 lambda: getattr(nn, name)(*args, **kwargs), _inputs([ACT_INPUT], dtype), dtype,
                 grad=grad, call=call, rtol=rtol)


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", LOSSES, ids=[c[0] for c in LOSSES])
def test_loss(case, dtype, grad):
    _, name, kwargs, makers = case
    check_module(lambda: getattr(torch.nn, name)(**kwargs), lambda: getattr(nn, name)(**kwargs),
                 _inputs(makers, dtype), dtype, grad=grad, grad_inputs=[0])


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", WEIGHTED_LOSSES, ids=[c[0] for c in WEIGHTED_LOSSES])
def test_weighted_loss(case, dtype, grad):
    _, name, kwargs, wname, wshape, makers = case
    w = np.random.default_rng(5).uniform(0.2, 2.0, size=wshape)
    check_module(lambda: getattr(torch.nn, name)(**{wname: torch.tensor(w)}, **kwargs),
                 lambda: getattr(nn, name)(**{wname: terra.tensor(w)}, **kwargs),
                 _inputs(makers, dtype), dtype, grad=grad, grad_inputs=[0])


def _small_cnn(lib):
    nn_ = lib.nn
    return nn_.Sequential(
        nn_.Conv2d(1, 4, 3, padding=1), nn_.BatchNorm2d(4), nn_.ReLU(), nn_.MaxPool2d(2),
        nn_.Conv2d(4, 6, 3), nn_.ReLU(), nn_.Flatten(), nn_.Dropout(0.25), nn_.Linear(6 * 2 * 2, 5),
        nn_.LogSoftmax(dim=1))


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
def test_sequential_cnn(dtype, grad):
    check_module(lambda: _small_cnn(torch), lambda: _small_cnn(terra),
                 _inputs([Fl(3, 1, 8, 8)], dtype), dtype, grad=grad)


# ---------------------------------------------------------------------------------------------
# Module API


class _Net(object):
    """The same small architecture written against either library."""

    @staticmethod
    def build(lib):
        nn_ = lib.nn

        class Block(nn_.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn_.Linear(4, 4)
                self.bn = nn_.BatchNorm1d(4)
                self.register_buffer("steps", lib.zeros(1))
                self.register_buffer("scratch", lib.ones(2), persistent=False)

            def forward(self, x):
                return self.bn(self.fc(x)).relu()

        class Net(nn_.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn_.Embedding(10, 4)
                self.blocks = nn_.ModuleList([Block(), Block()])
                self.head = nn_.Sequential(OrderedDict([("drop", nn_.Dropout(0.5)),
                                                        ("out", nn_.Linear(4, 3, bias=False))]))
                self.scale = nn_.Parameter(lib.ones(3))
                self.heads = nn_.ModuleDict({"a": nn_.Linear(3, 2), "b": nn_.Identity()})

            def forward(self, idx):
                x = self.embed(idx)
                for b in self.blocks:
                    x = b(x)
                return self.head(x) * self.scale

        return Net()


def test_state_dict_keys_and_order_match_torch():
    t, x = _Net.build(torch), _Net.build(terra)
    assert list(x.state_dict().keys()) == list(t.state_dict().keys())
    assert [n for n, _ in x.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in x.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in x.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in x.named_children()] == [n for n, _ in t.named_children()]
    assert "blocks.0.scratch" not in x.state_dict()
    for k, v in x.state_dict().items():
        assert not v.requires_grad, k
        assert v.grad_fn is None
    kept = x.state_dict(keep_vars=True)
    assert kept["scale"] is x.scale
    prefixed = x.blocks[0].state_dict(prefix="p.")
    assert list(prefixed) == list(t.blocks[0].state_dict(prefix="p."))
    assert list(prefixed)[:3] == ["p.steps", "p.fc.weight", "p.fc.bias"]


def test_load_state_dict_from_torch_and_back():
    torch.manual_seed(3)
    t, x = _Net.build(torch), _Net.build(terra)
    copy_state(t, x)
    for k, v in x.state_dict().items():
        np.testing.assert_array_equal(to_numpy(v), to_numpy(t.state_dict()[k]))
    # Loading copies values in place: the parameter objects stay the same.
    w = x.head.out.weight
    result = x.load_state_dict({k: v.clone() for k, v in x.state_dict().items()})
    assert x.head.out.weight is w
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"


def test_load_state_dict_strict_errors():
    x = _Net.build(terra)
    sd = x.state_dict()
    del sd["scale"]
    sd["extra.weight"] = terra.zeros(2)
    with pytest.raises(RuntimeError) as e:
        x.load_state_dict(sd)
    msg = str(e.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:\n\t")
    assert 'Missing key(s) in state_dict: "scale". ' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight". ' in msg
    assert msg.index("Missing") < msg.index("Unexpected")
    res = x.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["scale"] and res.unexpected_keys == ["extra.weight"]

    t = _Net.build(torch)
    tsd = t.state_dict()
    del tsd["scale"]
    tsd["extra.weight"] = torch.zeros(2)
    with pytest.raises(RuntimeError) as te:
        t.load_state_dict(tsd)
    assert str(te.value) == msg


def test_load_state_dict_size_mismatch():
    x = nn.Linear(3, 2)
    with pytest.raises(RuntimeError) as e:
        x.load_state_dict({"weight": terra.zeros(2, 4), "bias": terra.zeros(2)})
    t = torch.nn.Linear(3, 2)
    with pytest.raises(RuntimeError) as te:
        t.load_state_dict({"weight": torch.zeros(2, 4), "bias": torch.zeros(2)})
    assert str(e.value) == str(te.value).replace("torch.Size", "terra.Size")
    assert "size mismatch for weight: copying a param with shape" in str(e.value)


def test_train_eval_dropout_and_batchnorm():
    m = nn.Sequential(nn.Linear(6, 6), nn.Dropout(0.5), nn.BatchNorm1d(6))
    assert m.training and all(c.training for c in m.children())
    x = terra.tensor(rand(np.random.default_rng(0), 64, 6))
    m(x)
    # Training dropout zeroes about half and scales the rest by 2.
    h = m[0](x)
    d = to_numpy(m[1](h))
    hv = to_numpy(h)
    zero = d == 0
    assert 0.3 < zero.mean() < 0.7
    np.testing.assert_allclose(d[~zero], 2 * hv[~zero], rtol=1e-6)
    assert int(m[2].num_batches_tracked.item()) == 1
    stats = to_numpy(m[2].running_mean).copy()
    assert m.eval() is m
    assert not m.training and not m[1].training and not m[2].training
    np.testing.assert_array_equal(to_numpy(m[1](h)), hv)
    m(x)
    np.testing.assert_array_equal(to_numpy(m[2].running_mean), stats)
    assert int(m[2].num_batches_tracked.item()) == 1
    m.train()
    assert m[1].training
    with pytest.raises(ValueError):
        m.train("yes")


def test_hooks():
    m = nn.Linear(3, 2)
    calls = []

    def pre(mod, args):
        calls.append(("pre", mod))
        return (args[0] * 2,)

    def post(mod, args, out):
        calls.append(("post", tuple(args[0].shape)))
        return out + 1

    h1 = m.register_forward_pre_hook(pre)
    h2 = m.register_forward_hook(post)
    x = terra.tensor(rand(np.random.default_rng(0), 4, 3))
    y = m(x)
    expected = to_numpy(x) * 2 @ to_numpy(m.weight).T + to_numpy(m.bias) + 1
    np.testing.assert_allclose(to_numpy(y), expected, rtol=1e-5, atol=1e-6)
    assert calls == [("pre", m), ("post", (4, 3))]
    h1.remove()
    h2.remove()
    h2.remove()
    np.testing.assert_allclose(to_numpy(m(x)), to_numpy(x) @ to_numpy(m.weight).T
                               + to_numpy(m.bias), rtol=1e-5, atol=1e-6)
    assert len(calls) == 2
    # Hooks with kwargs and pre-hooks returning a single value.
    m.register_forward_pre_hook(lambda mod, args: args[0] * 0 + 1)
    np.testing.assert_allclose(to_numpy(m(x)), np.ones((4, 3)) @ to_numpy(m.weight).T
                               + to_numpy(m.bias), rtol=1e-5, atol=1e-6)


def test_repr_matches_torch():
    t, x = _Net.build(torch), _Net.build(terra)
    assert repr(x) == repr(t)
    assert "torch" not in repr(x)
    t, x = _small_cnn(torch), _small_cnn(terra)
    assert repr(x) == repr(t)
    for name, args, kwargs in [
            ("LSTM", (4, 8), {"num_layers": 2, "batch_first": True, "dropout": 0.1}),
            ("GRU", (4, 8), {"bidirectional": True, "bias": False}),
            ("RNN", (3, 5), {"nonlinearity": "relu"}), ("LSTMCell", (3, 4), {}),
            ("RNNCell", (3, 4), {"nonlinearity": "relu", "bias": False}),
            ("TransformerEncoderLayer", (8, 2), {"dim_feedforward": 16}),
            ("TransformerDecoderLayer", (8, 2), {"dim_feedforward": 16, "activation": "gelu"}),
            ("MultiheadAttention", (8, 2), {"kdim": 4, "vdim": 6}),
            ("Conv2d", (2, 4, 3), {"padding": "same", "bias": False, "groups": 2}),
            ("ConvTranspose2d", (2, 4, 3), {"stride": 2, "output_padding": 1}),
            ("Embedding", (10, 3), {"padding_idx": 0}), ("LayerNorm", ((2, 3),), {}),
            ("GroupNorm", (2, 4), {}), ("GELU", (), {"approximate": "tanh"}),
            ("LeakyReLU", (0.2, True), {}), ("Softmax", (), {"dim": 1}), ("ReLU", (True,), {}),
            ("MaxPool2d", (2,), {}), ("AvgPool2d", (3, 2, 1), {}), ("AdaptiveAvgPool2d", (1,), {}),
            ("Unflatten", (1, (2, 3)), {}), ("Dropout", (0.2,), {}), ("CrossEntropyLoss", (), {}),
            ("Upsample", (), {"scale_factor": 2}), ("ELU", (), {}), ("Softplus", (), {}),
            ("Hardtanh", (), {}), ("ReLU6", (), {}), ("PReLU", (), {}), ("BatchNorm1d", (3,), {}),
            ("InstanceNorm2d", (3,), {}),
            ("InstanceNorm1d", (3,), {"affine": True, "track_running_stats": True, "momentum": None}),
            ("ZeroPad2d", (2,), {}), ("ConstantPad1d", (2, 3.5), {}),
            ("ConstantPad3d", ((1, 2, 3, 4, 5, 6), 0), {}), ("ReflectionPad1d", ((1, 2),), {}),
            ("ReflectionPad3d", (1,), {}), ("ReplicationPad2d", ((1, 0, 2, 3),), {}),
            ("ReplicationPad3d", (1,), {})]:
        assert repr(getattr(nn, name)(*args, **kwargs)) == \
            repr(getattr(torch.nn, name)(*args, **kwargs)), name


def test_parameter():
    p = nn.Parameter(terra.ones(2, 3))
    assert isinstance(p, terra.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    q = nn.Parameter(terra.zeros(2), requires_grad=False)
    assert not q.requires_grad
    assert nn.Parameter().shape == (0,)
    # A Parameter aliases the data it was built from.
    base = terra.zeros(3)
    a = nn.Parameter(base)
    base.add_(1)
    np.testing.assert_array_equal(to_numpy(a), np.ones(3))
    d = copy.deepcopy(p)
    assert isinstance(d, nn.Parameter) and d is not p and d.requires_grad
    np.testing.assert_array_equal(to_numpy(d), to_numpy(p))
    r = pickle.loads(pickle.dumps(q))
    assert isinstance(r, nn.Parameter) and not r.requires_grad


def test_module_pickle_and_save():
    torch.manual_seed(0)
    m = _small_cnn(terra)
    m.eval()
    x = terra.tensor(rand(np.random.default_rng(0), 2, 1, 8, 8))
    y = to_numpy(m(x))
    m2 = pickle.loads(pickle.dumps(m))
    assert isinstance(m2[0].weight, nn.Parameter)
    np.testing.assert_array_equal(to_numpy(m2(x)), y)
    buf = io.BytesIO()
    terra.save(m, buf)
    buf.seek(0)
    m3 = terra.load(buf, weights_only=False) if "weights_only" in \
        terra.load.__code__.co_varnames else terra.load(buf)
    np.testing.assert_array_equal(to_numpy(m3(x)), y)
    m4 = copy.deepcopy(m)
    assert m4[0].weight is not m[0].weight
    np.testing.assert_array_equal(to_numpy(m4(x)), y)


def test_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(terra.zeros(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("b", terra.ones(1))
    m.plain = 3
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"]
    assert list(m._buffers) == ["b"] and m.plain == 3 and "plain" in m.__dict__
    with pytest.raises(TypeError):
        m.w = terra.zeros(2)  # a plain tensor can't replace a parameter
    m.w = None
    assert m._parameters["w"] is None and m.w is None
    with pytest.raises(KeyError):
        m.register_buffer("plain", terra.zeros(1))
    with pytest.raises(KeyError):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError):
        m.add_module("x", 3)
    del m.sub
    assert "sub" not in m._modules
    with pytest.raises(AttributeError):
        m.sub
    with pytest.raises(AttributeError) as e:
        m.missing
    assert "'Module' object has no attribute 'missing'" in str(e.value)
    m.add_module("child", nn.ReLU())
    m.register_module("child2", nn.Tanh())
    assert m.get_submodule("child") is m.child
    assert "child" in dir(m) and "w" in dir(m) and "b" in dir(m)
    with pytest.raises(AttributeError):
        m.get_submodule("nope")

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(terra.zeros(1))

    with pytest.raises(AttributeError):
        Early()


def test_parameters_modules_apply_zero_grad():
    m = _Net.build(terra)
    params = list(m.parameters())
    assert len(params) == len(list(_Net.build(torch).parameters()))
    assert len(list(m.parameters(recurse=False))) == 1
    shared = nn.Linear(2, 2)
    s = nn.Sequential(shared, shared)
    assert len(list(s.parameters())) == 2
    assert len(list(s.modules())) == 2
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "Net" and seen[0] == "Embedding"
    for p in params:
        p.grad = terra.ones(*p.shape)
    m.zero_grad()  # zeroed in place: PyTorch 1.13's default
    assert all(float(p.grad.abs().sum()) == 0 for p in params)
    m.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in params)
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in params)


def test_to_double_float():
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    w = m[0].weight
    assert m.double() is m
    assert m[0].weight is w and w.dtype == terra.float64
    assert m[1].running_mean.dtype == terra.float64
    assert m[1].num_batches_tracked.dtype == terra.int64
    m.to(terra.float32)
    assert w.dtype == terra.float32
    m.to("cpu", dtype=terra.float64)
    assert w.dtype == terra.float64
    m.float().cpu()
    assert w.dtype == terra.float32
    t = terra.zeros(1, dtype=terra.float64)
    m.to(t)
    assert w.dtype == terra.float64
    if not terra.cuda.is_available():
        with pytest.raises(Exception):
            m.cuda()


def test_containers():
    layers = [nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 3)]
    s = nn.Sequential(*layers)
    assert len(s) == 3 and s[0] is layers[0] and s[-1] is layers[2]
    assert isinstance(s[1:], nn.Sequential) and len(s[1:]) == 2 and s[1:][0] is layers[1]
    assert list(s) == layers
    with pytest.raises(IndexError):
        s[3]
    s.append(nn.Tanh())
    assert len(s) == 4 and list(s._modules) == ["0", "1", "2", "3"]
    del s[1]
    assert list(s._modules) == ["0", "1", "2"] and s[1] is layers[2]
    od = nn.Sequential(OrderedDict([("a", nn.ReLU()), ("b", nn.Tanh())]))
    assert list(od._modules) == ["a", "b"] and od.b is od[1]

    ml = nn.ModuleList([nn.ReLU()])
    ml.append(nn.Tanh())
    ml.extend([nn.Sigmoid()])
    ml += [nn.GELU()]
    assert len(ml) == 4 and isinstance(ml[-1], nn.GELU)
    ml.insert(1, nn.SiLU())
    assert [type(x).__name__ for x in ml] == ["ReLU", "SiLU", "Tanh", "Sigmoid", "GELU"]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    ml[0] = nn.ELU()
    assert isinstance(ml[0], nn.ELU)
    with pytest.raises(IndexError):
        ml[9]

    md = nn.ModuleDict({"x": nn.ReLU()})
    md["y"] = nn.Tanh()
    assert list(md.keys()) == ["x", "y"] and "y" in md and len(md) == 2
    assert md.pop("x").__class__ is nn.ReLU and list(md) == ["y"]

    pl = nn.ParameterList([nn.Parameter(terra.zeros(2)), terra.ones(3)])
    assert len(pl) == 2 and isinstance(pl[1], nn.Parameter)
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pd = nn.ParameterDict({"a": nn.Parameter(terra.zeros(1))})
    pd["b"] = terra.ones(2)
    assert list(pd.keys()) == ["a", "b"] and isinstance(pd["b"], nn.Parameter)
    assert [n for n, _ in pd.named_parameters()] == ["a", "b"]


def test_embedding_from_pretrained():
    w = terra.tensor(rand(np.random.default_rng(0), 5, 3))
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad
    idx = terra.tensor([[0, 4], [2, 2]])
    np.testing.assert_array_equal(to_numpy(e(idx)), to_numpy(w)[[[0, 4], [2, 2]]])
    e2 = nn.Embedding.from_pretrained(w, freeze=False, padding_idx=1)
    assert e2.weight.requires_grad and e2.padding_idx == 1
    pad = nn.Embedding(6, 3, padding_idx=-1)
    assert pad.padding_idx == 5
    np.testing.assert_array_equal(to_numpy(pad.weight)[5], np.zeros(3))


# ---------------------------------------------------------------------------------------------
# Errors raised like PyTorch's


def test_linear_wrong_width_names_shapes():
    t, x = assert_same_error(lambda: torch.nn.Linear(5, 2)(torch.randn(4, 3)),
                       lambda: nn.Linear(5, 2)(terra.randn(4, 3)))
    assert "mat1 and mat2 shapes cannot be multiplied (4x3 and 5x2)" in x


def test_cross_entropy_float_target():
    logits = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    target = np.array([0.0, 1.0, 2.0, 3.0], dtype=np.float32)
    t, x = assert_same_error(lambda: torch.nn.CrossEntropyLoss()(torch.tensor(logits),
                                                           torch.tensor(target)),
                       lambda: nn.CrossEntropyLoss()(terra.tensor(logits), terra.tensor(target)))
    assert "int64" in x or "Long" in x


def test_embedding_index_out_of_range():
    assert_same_error(lambda: torch.nn.Embedding(5, 2)(torch.tensor([1, 5])),
                lambda: nn.Embedding(5, 2)(terra.tensor([1, 5])))


def test_constructor_errors():
    for call in [lambda lib: lib.nn.Conv2d(3, 4, 3, groups=2),
                 lambda lib: lib.nn.Conv2d(2, 4, 3, stride=2, padding="same"),
                 lambda lib: lib.nn.Conv2d(2, 4, 3, padding="full"),
                 lambda lib: lib.nn.Dropout(1.5),
                 lambda lib: lib.nn.GroupNorm(3, 4),
                 lambda lib: lib.nn.LSTM(3, 4, dropout=2.0),
                 lambda lib: lib.nn.RNN(3, 4, nonlinearity="sigmoid")]:
        t, x = assert_same_error(lambda: call(torch), lambda: call(terra))
        assert x == t


def test_transposed_convolutions_pad_with_zeros_only():
    with pytest.raises(ValueError):
        nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect")


def test_instancenorm_input_errors():
    for call in [lambda lib: lib.nn.InstanceNorm1d(3)(lib.randn(2, 3, 4, 5)),
                 lambda lib: lib.nn.InstanceNorm2d(3)(lib.randn(3, 4)),
                 lambda lib: lib.nn.InstanceNorm1d(3).train()(lib.randn(2, 3, 1)),
                 lambda lib: lib.nn.InstanceNorm1d(4, affine=True)(lib.randn(2, 3, 4)),
                 lambda lib: lib.nn.InstanceNorm1d(3, track_running_stats=True, momentum=None)(
                     lib.randn(2, 3, 4))]:
        t, x = assert_same_error(lambda: call(torch), lambda: call(terra))
        assert t in x.replace("terra.Size", "torch.Size")
    # Like PyTorch 1.13, without affine parameters or statistics num_features is not checked.
    assert tuple(nn.InstanceNorm1d(4)(terra.randn(2, 3, 4)).shape) == (2, 3, 4)


def test_padding_layer_errors():
    for call in [lambda lib: lib.nn.ReflectionPad2d(3)(lib.randn(1, 2, 3, 3)),
                 lambda lib: lib.nn.ReplicationPad2d(1)(lib.randn(2, 3)),
                 lambda lib: lib.nn.ReplicationPad1d(1)(lib.randn(2, 0, 3))]:
        assert_same_error(lambda: call(torch), lambda: call(terra))


def test_batchnorm_input_errors():
    assert_same_error(lambda: torch.nn.BatchNorm2d(3)(torch.randn(2, 3)),
                lambda: nn.BatchNorm2d(3)(terra.randn(2, 3)))
    t, x = assert_same_error(lambda: torch.nn.BatchNorm1d(3)(torch.randn(1, 3)),
                       lambda: nn.BatchNorm1d(3)(terra.randn(1, 3)))
    assert x == t.replace("torch.Size", "terra.Size")


# ---------------------------------------------------------------------------------------------
# nn.init


def test_init_statistics():
    terra.manual_seed(0)
    w = terra.empty(400, 300)
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    bound = 1 / math.sqrt(300)
    v = to_numpy(w)
    assert v.min() >= -bound and v.max() <= bound
    assert abs(v.mean()) < 0.02 * bound and abs(v.std() - bound / math.sqrt(3)) < 0.02 * bound
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    v = to_numpy(w)
    assert abs(v.std() - math.sqrt(2 / 400)) < 0.02 * math.sqrt(2 / 400)
    nn.init.xavier_uniform_(w, gain=2.0)
    a = 2.0 * math.sqrt(6 / 700)
    v = to_numpy(w)
    assert v.min() >= -a and v.max() <= a and abs(v.std() - a / math.sqrt(3)) < 0.02 * a
    nn.init.xavier_normal_(w)
    assert abs(to_numpy(w).std() - math.sqrt(2 / 700)) < 0.02 * math.sqrt(2 / 700)
    nn.init.normal_(w, 2.0, 0.5)
    assert abs(to_numpy(w).mean() - 2.0) < 0.01 and abs(to_numpy(w).std() - 0.5) < 0.01
    nn.init.uniform_(w, -3, 1)
    assert to_numpy(w).min() >= -3 and to_numpy(w).max() <= 1
    nn.init.trunc_normal_(w, mean=0.5, std=1.0, a=-0.5, b=1.0)
    v = to_numpy(w)
    # Mean of N(0.5, 1) truncated to [-0.5, 1]: mu + (pdf(alpha) - pdf(beta)) / Z.
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))
    mean = 0.5 + (pdf(-1.0) - pdf(0.5)) / (cdf(0.5) - cdf(-1.0))
    assert v.min() >= -0.5 and v.max() <= 1.0 and abs(v.mean() - mean) < 0.01
    nn.init.constant_(w, 0.3)
    assert np.all(to_numpy(w) == np.float32(0.3))
    nn.init.ones_(w)
    nn.init.zeros_(w)
    assert not to_numpy(w).any()
    e = terra.empty(3, 5)
    nn.init.eye_(e)
    np.testing.assert_array_equal(to_numpy(e), np.eye(3, 5))
    o = terra.empty(6, 4)
    nn.init.orthogonal_(o, gain=2.0)
    np.testing.assert_allclose(to_numpy(o).T @ to_numpy(o), 4 * np.eye(4), atol=1e-5)
    # Parameters stay leaves that require grad.
    p = nn.Parameter(terra.empty(3, 4))
    nn.init.kaiming_uniform_(p)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None


def test_init_deprecated_names():
    w = terra.empty(3, 4)
    with pytest.warns(UserWarning, match="xavier_uniform_"):
        nn.init.xavier_uniform(w)
    with pytest.warns(UserWarning):
        nn.init.constant(w, 2.0)
    assert np.all(to_numpy(w) == 2.0)


def test_init_gain_and_fans():
    for args in [("linear",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu",),
                 ("leaky_relu", 0.2), ("selu",), ("conv2d",)]:
        assert nn.init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)
    with pytest.raises(ValueError):
        nn.init.calculate_gain("nope")
    assert nn.init._calculate_fan_in_and_fan_out(terra.empty(8, 3, 5, 2)) == (30, 80)
    with pytest.raises(ValueError):
        nn.init._calculate_fan_in_and_fan_out(terra.empty(3))


def test_default_init_ranges():
    terra.manual_seed(1)
    lin = nn.Linear(50, 40)
    b = 1 / math.sqrt(50)
    assert np.abs(to_numpy(lin.weight)).max() <= b and np.abs(to_numpy(lin.bias)).max() <= b
    assert to_numpy(lin.weight).std() > 0.5 * b / math.sqrt(3)
    conv = nn.Conv2d(4, 6, 3)
    b = 1 / math.sqrt(4 * 9)
    assert np.abs(to_numpy(conv.weight)).max() <= b and np.abs(to_numpy(conv.bias)).max() <= b
    lstm = nn.LSTM(5, 16)
    for p in lstm.parameters():
        assert np.abs(to_numpy(p)).max() <= 0.25
    emb = nn.Embedding(100, 20)
    assert abs(to_numpy(emb.weight).std() - 1.0) < 0.05
    ln = nn.LayerNorm(4)
    assert np.all(to_numpy(ln.weight) == 1) and np.all(to_numpy(ln.bias) == 0)


# ---------------------------------------------------------------------------------------------
# nn.utils


def test_clip_grad_norm_and_value():
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (5,), (2, 2, 2)]
    for norm_type in [2.0, 1.0, math.inf]:
        grads = [rand(rng, *s) * 3 for s in shapes]
        tp = [torch.nn.Parameter(torch.zeros(s)) for s in shapes]
        xp = [nn.Parameter(terra.zeros(*s)) for s in shapes]
        for g, a, b in zip(grads, tp, xp):
            a.grad = torch.tensor(g)
            b.grad = terra.tensor(g)
        tn = torch.nn.utils.clip_grad_norm_(tp, 1.5, norm_type=norm_type)
        xn = nn.utils.clip_grad_norm_(xp, 1.5, norm_type=norm_type)
        close(xn, tn, "float32")
        for a, b in zip(tp, xp):
            close(b.grad, a.grad, "float32")
    p = nn.Parameter(terra.zeros(3))
    p.grad = terra.tensor([float("nan"), 1.0, 2.0])
    with pytest.raises(RuntimeError):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert float(nn.utils.clip_grad_norm_([nn.Parameter(terra.zeros(2))], 1.0)) == 0.0
    p = nn.Parameter(terra.zeros(4))
    p.grad = terra.tensor([-3.0, -0.5, 0.2, 7.0])
    nn.utils.clip_grad_value_([p], 1.0)
    np.testing.assert_allclose(to_numpy(p.grad), [-1.0, -0.5, 0.2, 1.0], rtol=1e-6)


def test_parameters_to_vector_roundtrip():
    m = nn.Linear(3, 2)
    v = nn.utils.parameters_to_vector(m.parameters())
    assert tuple(v.shape) == (8,)
    np.testing.assert_array_equal(to_numpy(v)[:6], to_numpy(m.weight).reshape(-1))
    nn.utils.vector_to_parameters(v * 2, m.parameters())
    np.testing.assert_array_equal(to_numpy(m.bias), to_numpy(v)[6:] * 2)


# ---- Embedding max_norm and sparse=True ----------------------------------------------------------

@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_embedding_max_norm_renormalizes_looked_up_rows_like_torch(norm_type):
    rng = np.random.default_rng(0)
    weight = rand(rng, 10, 4) * 2
    idx = np.array([[1, 2, 2], [7, 0, 3]])
    scale = rand(rng, 2, 3, 4)
    results = []
    for lib in (torch, terra):
        e = lib.nn.Embedding(10, 4, max_norm=1.5, norm_type=norm_type, padding_idx=0)
        with lib.no_grad():
            e.weight.copy_(lib.tensor(weight))
        out = e(lib.tensor(idx))
        (out * lib.tensor(scale)).sum().backward()
        plain = lib.nn.functional.embedding(lib.tensor(idx), lib.tensor(weight * 3), max_norm=1.0)
        results.append([to_numpy(t) for t in (out, e.weight, e.weight.grad, plain)])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    untouched = [4, 5, 6, 8, 9]
    np.testing.assert_array_equal(results[1][1][untouched], weight[untouched])


@pytest.mark.parametrize("opt", ["SparseAdam", "SGD", "Adagrad"])
def test_embedding_sparse_gradient_trains_like_torch(opt):
    def run(lib):
        rng = np.random.default_rng(0)
        e = lib.nn.Embedding(10, 3, sparse=True, padding_idx=1)
        with lib.no_grad():
            e.weight.copy_(lib.tensor(rand(rng, 10, 3)))
        optimizer = getattr(lib.optim, opt)(e.parameters(), lr=0.1)
        for _ in range(4):
            idx = lib.tensor(rng.integers(0, 10, (2, 3)))
            loss = (e(idx) ** 2 * lib.tensor(rand(rng, 2, 3, 1))).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return to_numpy(e.weight)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(run(terra), run(torch), rtol=1e-5, atol=1e-6)


def test_deepcopy_of_a_non_leaf_tensor_raises_like_torch():
    for lib in (torch, terra):
        x = lib.ones(2, requires_grad=True)
        assert copy.deepcopy(x).requires_grad
        with pytest.raises(RuntimeError, match=r"^Only Tensors created explicitly by the user \(graph leaves\) "
                                               r"support the deepcopy protocol at the moment$"):
            copy.deepcopy(x * 2)
        assert copy.deepcopy((x * 2).detach()).tolist() == [2, 2]
