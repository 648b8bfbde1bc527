"""grad_fn names against PyTorch 1.13: the same call in terra and in torch records a backward
node of the same name (engine/autograd/node_names.cpp), which printed tensors show as
grad_fn=<...>. Calls that terra composes from other ops (hardtanh, mish, unbind, ...) are left
out: their nodes are the last op's, as in any composite."""
import numpy as np
import pytest

import terra

torch = pytest.importorskip("torch")

rng = np.random.default_rng(5)
DATA = {name: rng.standard_normal(shape) for name, shape in
        {"a": (3, 4), "b": (4, 5), "v": (4,), "c": (2, 3, 4), "d": (2, 4, 5), "w": (5, 4), "bias": (5,),
         "img": (2, 3, 8, 8), "k": (4, 3, 3, 3), "m": (5, 3), "u": (3,)}.items()}

CASES = {
    "mm": lambda L, t: t.a @ t.b, "mv": lambda L, t: t.a @ t.v, "dot": lambda L, t: t.v @ t.v,
    "vm": lambda L, t: t.v @ t.b, "bmm": lambda L, t: t.c @ t.d, "3d@2d": lambda L, t: t.c @ t.b,
    "2d@3d": lambda L, t: t.m @ t.c, "1d@3d": lambda L, t: t.u @ t.c,
    "linear": lambda L, t: L.nn.functional.linear(t.a, t.w, t.bias),
    "linear no bias": lambda L, t: L.nn.functional.linear(t.a, t.w),
    "linear 3d": lambda L, t: L.nn.functional.linear(t.c, t.w, t.bias),
    "linear 3d no bias": lambda L, t: L.nn.functional.linear(t.c, t.w),
    "linear 1d": lambda L, t: L.nn.functional.linear(t.v, t.w, t.bias),
    "linear 1d no bias": lambda L, t: L.nn.functional.linear(t.v, t.w),
    "reshape": lambda L, t: t.a.reshape(12), "reshape copy": lambda L, t: t.a.t().reshape(12),
    "flatten": lambda L, t: t.c.flatten(1), "view": lambda L, t: t.a.view(12),
    "squeeze": lambda L, t: t.a.unsqueeze(0).squeeze(), "squeeze dim": lambda L, t: t.a.unsqueeze(0).squeeze(0),
    "sum": lambda L, t: t.a.sum(), "sum dim": lambda L, t: t.a.sum(1), "mean": lambda L, t: t.a.mean(),
    "mean dims": lambda L, t: t.a.mean((0, 1)), "prod": lambda L, t: t.a.prod(), "prod dim": lambda L, t: t.a.prod(1),
    "max": lambda L, t: t.a.max(), "max dim": lambda L, t: t.a.max(1)[0], "min": lambda L, t: t.a.min(),
    "min dim": lambda L, t: t.a.min(1).values, "norm": lambda L, t: t.a.norm(), "norm dim": lambda L, t: t.a.norm(dim=1),
    "clamp": lambda L, t: t.a.clamp(-1, 1), "clamp min": lambda L, t: t.a.clamp(min=0),
    "cross_entropy": lambda L, t: L.nn.functional.cross_entropy(t.a, L.tensor([0, 1, 2])),
    "nll_loss": lambda L, t: L.nn.functional.nll_loss(t.a, L.tensor([0, 1, 2])),
    "mse_loss": lambda L, t: L.nn.functional.mse_loss(t.a, t.a.detach() * 2),
    "l1_loss": lambda L, t: L.nn.functional.l1_loss(t.a, t.a.detach() * 2),
    "l1_loss sum": lambda L, t: L.nn.functional.l1_loss(t.a, t.a.detach() * 2, reduction="sum"),
    "conv2d": lambda L, t: L.nn.functional.conv2d(t.img, t.k),
    "conv1d": lambda L, t: L.nn.functional.conv1d(t.c, t.k[:2, :, 0, :2]),
    "conv_transpose2d": lambda L, t: L.nn.functional.conv_transpose2d(t.img, t.k.transpose(0, 1)),
    "max_pool2d": lambda L, t: L.nn.functional.max_pool2d(t.img, 2),
    "adaptive to 1": lambda L, t: L.nn.functional.adaptive_avg_pool2d(t.img, 1),
    "adaptive to 2": lambda L, t: L.nn.functional.adaptive_avg_pool2d(t.img, 2),
    "batch_norm": lambda L, t: L.nn.functional.batch_norm(t.img, None, None, training=True),
    "layer_norm": lambda L, t: L.nn.functional.layer_norm(t.a, (4,)),
    "group_norm": lambda L, t: L.nn.functional.group_norm(t.img, 3),
    "dropout": lambda L, t: L.nn.functional.dropout(t.a, 0.5),
    "contiguous": lambda L, t: t.a.t().contiguous(), "to dtype": lambda L, t: t.a.double(),
    "chunk": lambda L, t: t.a.chunk(2, 1)[0], "narrow": lambda L, t: t.a.narrow(0, 0, 2),
    "pad constant": lambda L, t: L.nn.functional.pad(t.a, (1, 1)),
    "pad reflect": lambda L, t: L.nn.functional.pad(t.img, (1, 1, 1, 1), mode="reflect"),
    "pad replicate": lambda L, t: L.nn.functional.pad(t.img, (1, 1, 1, 1), mode="replicate"),
    "pow scalar": lambda L, t: t.a ** 2, "pow tensor": lambda L, t: t.a ** t.a, "scalar pow": lambda L, t: 2 ** t.a,
    "div": lambda L, t: t.a / 2, "div floor": lambda L, t: L.div(t.a, 2, rounding_mode="floor"),
    "outer": lambda L, t: L.outer(t.v, t.v),
    "scatter value": lambda L, t: t.a.scatter(1, L.tensor([[0], [1], [2]]), 0.0),
    "upsample": lambda L, t: L.nn.functional.interpolate(t.img, scale_factor=2),
    "add": lambda L, t: t.a + t.a, "relu": lambda L, t: L.relu(t.a), "softmax": lambda L, t: t.a.softmax(1),
    "transpose": lambda L, t: t.a.transpose(0, 1), "select": lambda L, t: t.a[0], "slice": lambda L, t: t.a[1:],
    "index": lambda L, t: t.a[[0, 1]], "expand": lambda L, t: t.v.expand(3, 4), "cat": lambda L, t: L.cat([t.a, t.a]),
}


class _Leaves:
    def __init__(self, lib):
        for name, array in DATA.items():
            setattr(self, name, lib.tensor(array, dtype=lib.float32, requires_grad=True))


@pytest.mark.parametrize("case", sorted(CASES))
def test_grad_fn_is_named_as_pytorch_names_it(case):
    expected = type(CASES[case](torch, _Leaves(torch)).grad_fn).__name__
    got = CASES[case](terra, _Leaves(terra)).grad_fn.name()
    assert got == expected


def test_printed_tensors_show_pytorch_node_names():
    logits = terra.tensor(DATA["a"], requires_grad=True)
    loss = terra.nn.functional.cross_entropy(logits, terra.tensor([0, 1, 2]))
    assert "grad_fn=<NllLossBackward0>" in repr(loss)
