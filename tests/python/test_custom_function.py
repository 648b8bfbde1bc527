"""terra.autograd.Function against PyTorch 1.13's torch.autograd.Function: the same classes,
defined once over either library, give the same values and gradients; the checks PyTorch makes
on what backward returns raise the same errors. Co-execution of a loop with custom Functions is
the corpus program tests/programs/custom_function.py."""
import numpy as np
import pytest

import terra

torch = pytest.importorskip("torch")


def functions(lib):
    """The test Functions, written against `lib` (terra or torch)."""

    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x ** 3 * scale

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return grad * 3 * x ** 2 * ctx.scale, None

    class SplitTwo(lib.autograd.Function):  # two outputs; a loss may use only one
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y, x + y

        @staticmethod
        def backward(ctx, g_prod, g_sum):
            x, y = ctx.saved_tensors
            return g_prod * y + g_sum, g_prod * x + g_sum

    class MaxWithIndex(lib.autograd.Function):  # a non-differentiable integer output
        @staticmethod
        def forward(ctx, x):
            values, index = x.max(dim=1)
            ctx.mark_non_differentiable(index)
            ctx.save_for_backward(index)
            ctx.columns = x.shape[1]
            return values, index

        @staticmethod
        def backward(ctx, g_values, g_index):
            index, = ctx.saved_tensors
            return lib.nn.functional.one_hot(index, ctx.columns).to(g_values.dtype) * g_values.unsqueeze(1)

    class BroadcastGrad(lib.autograd.Function):  # backward returns a gradient that sums to the input's shape
        @staticmethod
        def forward(ctx, bias, x):
            return x + bias

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    class Identity(lib.autograd.Function):  # returns its input: the output is a view of it
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    class Smooth(lib.autograd.Function):  # a differentiable backward, for double backward
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return lib.tanh(x)

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return grad * (1 - lib.tanh(x) ** 2)

    return {"Cube": Cube, "SplitTwo": SplitTwo, "MaxWithIndex": MaxWithIndex, "BroadcastGrad": BroadcastGrad,
            "Identity": Identity, "Smooth": Smooth}


def _leaves(lib, arrays):
    return [lib.tensor(a.copy(), requires_grad=True) for a in arrays]


def _both(program, *arrays):
    """program(lib, fns, *leaves) -> (outputs, loss) under both libraries; returns their outputs
    and the leaves' gradients as numpy arrays."""
    results = []
    for lib in (terra, torch):
        leaves = _leaves(lib, arrays)
        outputs, loss = program(lib, functions(lib), *leaves)
        loss.backward()
        results.append(([o.detach().numpy() for o in outputs], [leaf.grad.numpy() for leaf in leaves]))
    return results


RNG = np.random.default_rng(3)


@pytest.mark.parametrize("name", ["cube", "two_outputs_both", "two_outputs_one_unused", "max_with_index",
                                  "broadcast_grad", "identity", "inside_a_graph"])
def test_values_and_gradients_match_pytorch(name):
    a, b = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))
    programs = {
        "cube": (lambda L, F, x: ((F["Cube"].apply(x, 1.5),), F["Cube"].apply(x, 1.5).sum()), a),
        "two_outputs_both": (lambda L, F, x, y: (F["SplitTwo"].apply(x, y),
                                                   sum((o * o).sum() for o in F["SplitTwo"].apply(x, y))), a, b),
        "two_outputs_one_unused": (lambda L, F, x, y: (F["SplitTwo"].apply(x, y)[:1],
                                                         F["SplitTwo"].apply(x, y)[1].exp().sum()), a, b),
        "max_with_index": (lambda L, F, x: ((F["MaxWithIndex"].apply(x)[0],),
                                            (F["MaxWithIndex"].apply(x)[0] ** 2).sum()), a),
        "broadcast_grad": (lambda L, F, bias, x: ((F["BroadcastGrad"].apply(bias, x),),
                                                  (F["BroadcastGrad"].apply(bias, x) ** 2).sum()), a[0], b),
        "identity": (lambda L, F, x: ((F["Identity"].apply(x),), (F["Identity"].apply(x) * x).sum()), a),
        "inside_a_graph": (lambda L, F, x, y: ((F["Cube"].apply(x.sin() * y, 0.5),),
                                               F["Cube"].apply(x.sin() * y, 0.5).tanh().mean()), a, b),
    }
    program, *arrays = programs[name]
    (ours, our_grads), (theirs, their_grads) = _both(program, *arrays)
    for o, t in zip(ours + our_grads, theirs + their_grads):
        np.testing.assert_allclose(o, t, rtol=1e-12, atol=1e-12)


def test_grad_fn_name_needs_input_grad_and_no_graph_without_grad():
    fns = functions(terra)
    seen = []

    class Record(terra.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, k):
            seen.append(ctx.needs_input_grad)
            return x * y * k

        @staticmethod
        def backward(ctx, grad):
            return grad, None, None

    x, y = terra.randn(3, requires_grad=True), terra.randn(3)
    out = Record.apply(x, y, 2)
    assert seen[-1] == (True, False, False) and out.grad_fn.name() == "RecordBackward"
    with terra.no_grad():
        assert Record.apply(x, y, 2).grad_fn is None and seen[-1] == (False, False, False)
    assert fns["Cube"].apply(terra.randn(3), 1.0).requires_grad is False


def test_double_backward_through_a_differentiable_backward():
    a = RNG.standard_normal(5)
    grads = []
    for lib in (terra, torch):
        x = lib.tensor(a.copy(), requires_grad=True)
        y = functions(lib)["Smooth"].apply(x).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        g.sum().backward()
        grads.append((g.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-12)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-12)


def test_retain_graph_and_second_backward():
    for lib in (terra, torch):
        x = lib.tensor(RNG.standard_normal(3), requires_grad=True)
        y = functions(lib)["Cube"].apply(x, 1.0).sum()
        y.backward(retain_graph=True)
        y.backward()
        np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy() ** 2, rtol=1e-12)
        z = functions(lib)["Cube"].apply(x, 1.0).sum()
        z.backward()
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
            z.backward()


def test_once_differentiable_runs_backward_without_grad():
    class Square(terra.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @terra.autograd.function.once_differentiable
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            assert not terra.is_grad_enabled()
            return 2 * x * grad

    x = terra.tensor([1.5, -2.0], requires_grad=True)
    Square.apply(x).sum().backward()
    assert x.grad.tolist() == [3.0, -4.0]


def test_materialize_grads_off_passes_none():
    got = []

    class Two(terra.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            got.append((g1 is None, g2 is None))
            return g1 * 2

    x = terra.randn(3, requires_grad=True)
    Two.apply(x)[0].sum().backward()
    assert got == [(False, True)]


ERRORS = [
    ("wrong_count", lambda L: (lambda g: (g, g, g)), "returned an incorrect number of gradients \\(expected 2, got 3\\)"),
    ("grad_for_non_tensor", lambda L: (lambda g: (g, g)), "returned a gradient different than None at position 2"),
    ("bad_shape", lambda L: (lambda g: (g.sum(0, keepdim=True).expand(3, 4).sum(0), None)),
     "returned an invalid gradient at index 0 - got \\[4\\] but expected shape compatible with \\[3, 4\\]"),
]


@pytest.mark.parametrize("name,make_backward,message", ERRORS, ids=[e[0] for e in ERRORS])
def test_backward_result_errors_match_pytorch(name, make_backward, message):
    for lib in (terra, torch):
        backward_fn = make_backward(lib)

        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                return x * k

            @staticmethod
            def backward(ctx, grad):
                return backward_fn(grad)

        x = lib.randn(3, 4, requires_grad=True)
        with pytest.raises(RuntimeError, match=message):
            Bad.apply(x, 2.0).sum().backward()


def test_saved_tensor_modified_in_place_raises():
    for lib in (terra, torch):
        x = lib.randn(3, requires_grad=True)
        h = x * 1
        y = functions(lib)["Cube"].apply(h, 1.0)
        with lib.no_grad():
            h.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_legacy_and_unimplemented_functions_raise():
    class Legacy(terra.autograd.Function):
        def forward(self, x):
            return x

    with pytest.raises(RuntimeError, match="Legacy autograd function with non-static forward method"):
        Legacy()(terra.ones(1))

    class NoBackward(terra.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    with pytest.raises(NotImplementedError, match="You must implement either the backward or vjp method"):
        NoBackward.apply(terra.ones(2, requires_grad=True)).sum().backward()
