"""Module backward hooks (terra/nn/modules/_backward_hooks.py) against PyTorch 1.13: full hooks
(arguments, replaced grad_input, errors), legacy hooks (the last op's grad_input), global hooks,
eagerly and co-executed."""
import numpy as np
import pytest
import torch

import terra
from nn_parity import rand
from parity import to_numpy


def _np_or_none(grads):
    return [None if g is None else to_numpy(g).copy() for g in grads]


def _hook_program(lib, steps=3):
    """Trains a small MLP with full, legacy and global backward hooks; returns what the hooks saw,
    the input gradients, the losses and the final parameters."""
    rng = np.random.default_rng(0)
    T = lambda *shape: lib.tensor(rand(rng, *shape))  # noqa: E731
    model = lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.Tanh(), lib.nn.Linear(6, 3))
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(T(*p.shape) * 0.5)
    log = []

    def full(m, gi, go):
        log.append(("full", type(m).__name__, _np_or_none(gi), _np_or_none(go)))
        return tuple(None if g is None else g * 0.5 for g in gi)

    def legacy(m, gi, go):
        log.append(("legacy", type(m).__name__, _np_or_none(gi), _np_or_none(go)))

    handles = [model[0].register_full_backward_hook(full), model[2].register_backward_hook(legacy),
               model.register_full_backward_hook(full), model[1].register_backward_hook(legacy)]
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    losses, xgrads = [], []
    for step in range(steps):
        x = T(5, 4).requires_grad_(step % 2 == 0)
        loss = ((model(x) - T(5, 3)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        xgrads.append(None if x.grad is None else to_numpy(x.grad).copy())
        if step == 1:
            handles[0].remove()
    return log, xgrads, losses, [to_numpy(p).copy() for p in model.parameters()]


def _assert_same_hook_runs(got, want, **tol):
    for a, b in zip(got[0], want[0]):
        assert a[:2] == b[:2]
        for ga, gb in zip(a[2] + a[3], b[2] + b[3]):
            assert (ga is None) == (gb is None)
            if ga is not None:
                np.testing.assert_allclose(ga, gb, **tol)
    assert len(got[0]) == len(want[0])
    for ga, gb in zip(got[1], want[1]):
        assert (ga is None) == (gb is None)
        if ga is not None:
            np.testing.assert_allclose(ga, gb, **tol)
    np.testing.assert_allclose(got[2], want[2], **tol)
    for a, b in zip(got[3], want[3]):
        np.testing.assert_allclose(a, b, **tol)


def test_backward_hooks_match_torch():
    with pytest.warns(UserWarning, match="multiple autograd Nodes"):
        want = _hook_program(torch)
    with pytest.warns(UserWarning, match="multiple autograd Nodes"):
        got = _hook_program(terra)
    _assert_same_hook_runs(got, want, rtol=1e-5, atol=1e-6)
    # A hook program gives the same numbers co-executed as eagerly.
    with terra.coexec(fusion=False):
        coexecuted = _hook_program(terra, steps=8)
    assert terra.debug.stats()["coexecuted"] is True
    eager = _hook_program(terra, steps=8)
    _assert_same_hook_runs(coexecuted, eager, rtol=0, atol=0)


@pytest.mark.parametrize("case", ["linear", "linear_nobias", "linear3d", "linear_noreq", "relu", "seq",
                                  "conv", "layernorm"])
def test_legacy_backward_hook_grad_input_is_the_last_ops(case):
    def run(lib):
        rng = np.random.default_rng(1)
        T = lambda *shape: lib.tensor(rand(rng, *shape))  # noqa: E731
        nn_ = lib.nn
        module, shape, req = {
            "linear": (nn_.Linear(4, 5), (3, 4), True),
            "linear_nobias": (nn_.Linear(4, 5, bias=False), (3, 4), True),
            "linear3d": (nn_.Linear(4, 5), (2, 3, 4), True),
            "linear_noreq": (nn_.Linear(4, 5), (3, 4), False),
            "relu": (nn_.ReLU(), (3, 4), True),
            "seq": (nn_.Sequential(nn_.Linear(4, 5), nn_.ReLU(), nn_.Linear(5, 2)), (3, 4), True),
            "conv": (nn_.Conv2d(2, 3, 3), (1, 2, 5, 5), True),
            "layernorm": (nn_.LayerNorm(4), (3, 4), True),
        }[case]
        with lib.no_grad():
            for p in module.parameters():
                p.copy_(T(*p.shape))
        seen = []
        module.register_backward_hook(lambda m, gi, go: seen.append((_np_or_none(gi), _np_or_none(go))))
        x = T(*shape).requires_grad_(req)
        (module(x) * T(*module(x).shape)).sum().backward()
        return seen
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want, got = run(torch), run(terra)
    assert len(got) == len(want) == 1
    for a, b in zip(got[0][0] + got[0][1], want[0][0] + want[0][1]):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_full_backward_hook_arguments_and_errors():
    for lib in (torch, terra):
        class M(lib.nn.Module):
            def forward(self, x, y, k=3):
                return x * 2, y.sum() * 0 + x.sum(), 5

        seen = []
        m = M()
        handle = m.register_full_backward_hook(lambda mod, gi, go: seen.append((mod, _np_or_none(gi),
                                                                                 _np_or_none(go))))
        x = lib.ones(2, requires_grad=True)
        a, b, c = m(x, lib.ones(2, requires_grad=True), 1)
        assert a.grad_fn.name() == "BackwardHookFunctionBackward"
        a.sum().backward()
        assert seen[0][0] is m
        assert [None if g is None else g.tolist() for g in seen[0][1]] == [[2, 2], [0, 0], None]
        assert [None if g is None else g.tolist() for g in seen[0][2]] == [[1, 1], None, None]
        a, b, c = m(x, lib.ones(2))  # an input that needs no gradient gets zeros
        (a.sum() + b).backward()
        assert [g.tolist() for g in seen[1][1]] == [[3, 3], [0, 0]]
        handle.remove()
        a, b, c = m(x, lib.ones(2))
        a.sum().backward()
        assert len(seen) == 2

        lin = lib.nn.Linear(2, 2)
        lin.register_full_backward_hook(lambda mod, gi, go: seen.append(gi))
        lin(lib.ones(1, 2)).sum().backward()  # no input needs a gradient: called with Nones
        assert seen[-1] == (None,)
        lin.register_full_backward_hook(lambda mod, gi, go: (lib.ones(1, 2),))
        with pytest.raises(RuntimeError, match="no input requires gradient should always return None"):
            lin(lib.ones(1, 2)).sum().backward()
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full"):
            lin.register_backward_hook(lambda *a: None)
        lin2 = lib.nn.Linear(2, 2)
        lin2.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
        with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
            lin2(x.view(1, 2)).sum().backward()

        relu = lib.nn.ReLU(inplace=True)
        relu.register_full_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError, match="is a view and is being modified inplace"):
            relu(x * 1).sum().backward()  # Terra raises after forward, PyTorch in it
        lin3 = lib.nn.Linear(2, 2)
        lin3.register_full_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError, match="is a view and is being modified inplace"):
            lin3(x.view(1, 2)).add_(1).sum().backward()  # Terra raises in backward, PyTorch at add_


def test_global_backward_hooks():
    for lib in (torch, terra):
        mm = lib.nn.modules.module
        seen = []
        handle = mm.register_module_full_backward_hook(lambda m, gi, go: seen.append(type(m).__name__))
        try:
            with pytest.raises(RuntimeError, match="as a global Module hook"):
                mm.register_module_backward_hook(lambda *a: None)
            model = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU())
            model(lib.ones(4, 2, requires_grad=True)).sum().backward()
            assert seen == ["ReLU", "Linear", "Sequential"] or seen == ["Sequential", "ReLU", "Linear"]
            order = list(seen)
        finally:
            handle.remove()
            mm._global_is_full_backward_hook = None
        model(lib.ones(4, 2, requires_grad=True)).sum().backward()
        assert seen == order
        if lib is torch:
            torch_order = order
        else:
            assert order == torch_order
