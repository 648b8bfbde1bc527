"""terra.autograd.functional (jacobian, hessian, vjp, jvp, hvp, vhp) against PyTorch 1.13's
torch.autograd.functional: values and output nesting for tensor and tuple inputs and outputs,
create_graph (results that differentiate further), strict mode, and PyTorch's errors."""
import numpy as np
import pytest
import torch

import terra
from parity import to_numpy


def functions(lib):
    """Test functions written against `lib` (terra or torch)."""

    def single(x):  # tensor -> tensor
        return (x.exp() * x.sin()).tanh().sum(0)

    def pair(x, y):  # two tensors -> two tensors
        return (x.exp() * y).sum(0), (x * y.sin()).tanh()

    def scalar(x):  # tensor -> one element
        return (x.sin() * x.exp()).sum() + (x ** 3).prod()

    def scalar_pair(x, y):  # two tensors -> one element
        return (x.exp() * y.sin()).sum() + (x * y).pow(2).sum()

    return dict(single=single, pair=pair, scalar=scalar, scalar_pair=scalar_pair)


def inputs(names, seed=0):
    """{lib name: inputs} with the same float64 values; 'x' is (3, 2), 'y' (3, 2)."""
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(0.2, 1.0, size=(3, 2)) * rng.choice([-1, 1], size=(3, 2))
              for _ in names]
    return {lib: tuple(lib.tensor(a) for a in arrays) for lib in (torch, terra)}


def flatten(result):
    """A nested tuple of tensors as a flat list of numpy arrays, checking only tensors occur."""
    if isinstance(result, (tuple, list)):
        return [a for r in result for a in flatten(r)]
    return [to_numpy(result)]


def structure(result):
    """The nesting (tuples and lists) and the shapes of the tensors in it."""
    if isinstance(result, (tuple, list)):
        return type(result)(structure(r) for r in result)
    return tuple(result.shape)


def compare(call, fn_name, n_inputs, tuple_inputs=True, seed=0, **kwargs):
    """call(lib, fn, inputs) for both libraries: same nesting, shapes and values."""
    ins = inputs(range(n_inputs), seed)
    results = {}
    for lib in (torch, terra):
        fn = functions(lib)[fn_name]
        args = ins[lib] if tuple_inputs else ins[lib][0]
        results[lib] = call(lib, fn, args, **kwargs)
    assert structure(results[terra]) == structure(results[torch])
    for a, e in zip(flatten(results[terra]), flatten(results[torch])):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)
    return results


@pytest.mark.parametrize("fn_name,n_inputs,tuple_inputs", [
    ("single", 1, False), ("single", 1, True), ("pair", 2, True)])
@pytest.mark.parametrize("vectorize", [False, True])
def test_jacobian(fn_name, n_inputs, tuple_inputs, vectorize):
    compare(lambda lib, fn, x: lib.autograd.functional.jacobian(fn, x, vectorize=vectorize),
            fn_name, n_inputs, tuple_inputs)


def test_jacobian_forward_mode_strategy():
    compare(lambda lib, fn, x: lib.autograd.functional.jacobian(
        fn, x, vectorize=True, strategy="forward-mode"), "pair", 2)


@pytest.mark.parametrize("fn_name,n_inputs,tuple_inputs", [
    ("scalar", 1, False), ("scalar", 1, True), ("scalar_pair", 2, True)])
def test_hessian(fn_name, n_inputs, tuple_inputs):
    compare(lambda lib, fn, x: lib.autograd.functional.hessian(fn, x), fn_name, n_inputs,
            tuple_inputs)


def _v_like(lib, tensors, seed=5):
    rng = np.random.default_rng(seed)
    return tuple(lib.tensor(rng.standard_normal(tuple(t.shape))) for t in tensors)


@pytest.mark.parametrize("fn_name,n_inputs,tuple_inputs", [
    ("single", 1, False), ("pair", 2, True)])
def test_vjp(fn_name, n_inputs, tuple_inputs):
    def call(lib, fn, x):
        outputs = fn(*x) if tuple_inputs else fn(x)
        v = _v_like(lib, outputs if isinstance(outputs, tuple) else (outputs,))
        return lib.autograd.functional.vjp(fn, x, v if isinstance(outputs, tuple) else v[0])
    compare(call, fn_name, n_inputs, tuple_inputs)


@pytest.mark.parametrize("product", ["jvp", "hvp", "vhp"])
@pytest.mark.parametrize("tuple_inputs", [False, True])
def test_forward_and_hessian_products(product, tuple_inputs):
    fn_name = "single" if product == "jvp" else "scalar"
    if tuple_inputs:
        fn_name = "pair" if product == "jvp" else "scalar_pair"

    def call(lib, fn, x):
        v = _v_like(lib, x if tuple_inputs else (x,))
        return getattr(lib.autograd.functional, product)(fn, x, v if tuple_inputs else v[0])
    compare(call, fn_name, 2 if tuple_inputs else 1, tuple_inputs)


@pytest.mark.parametrize("product", ["vjp", "jvp", "hvp", "vhp"])
def test_v_may_be_omitted_for_one_element(product):
    def fn(x):
        return (x.exp() * x.sin()).sum()

    results = []
    for lib in (torch, terra):
        x = lib.tensor([0.7], dtype=lib.float64)
        results.append(getattr(lib.autograd.functional, product)(fn, x))
    for a, e in zip(flatten(results[1]), flatten(results[0])):
        np.testing.assert_allclose(a, e, rtol=1e-10)


@pytest.mark.parametrize("what", ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"])
def test_create_graph_allows_another_derivative(what):
    """With create_graph the results stay in the graph of the inputs: d(sum of result)/dx
    matches PyTorch; without it they are detached."""
    grads = []
    for lib in (torch, terra):
        F = lib.autograd.functional
        x = lib.tensor([[0.3, -0.8], [0.5, 0.9]], dtype=lib.float64, requires_grad=True)
        v = lib.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=lib.float64)
        fn = functions(lib)["scalar"] if what in ("hessian", "hvp", "vhp") else \
            functions(lib)["single"]
        calls = {
            "jacobian": lambda: F.jacobian(fn, x, create_graph=True),
            "hessian": lambda: F.hessian(fn, x, create_graph=True),
            "vjp": lambda: F.vjp(fn, x, v[0], create_graph=True)[1],
            "jvp": lambda: F.jvp(fn, x, v, create_graph=True)[1],
            "hvp": lambda: F.hvp(fn, x, v, create_graph=True)[1],
            "vhp": lambda: F.vhp(fn, x, v, create_graph=True)[1],
        }
        result = calls[what]()
        assert result.requires_grad
        grads.append(to_numpy(lib.autograd.grad(result.sum(), x)[0]))
        plain = {"jacobian": lambda: F.jacobian(fn, x), "hessian": lambda: F.hessian(fn, x),
                 "vjp": lambda: F.vjp(fn, x, v[0])[1],
                 "jvp": lambda: F.jvp(fn, x, v)[1], "hvp": lambda: F.hvp(fn, x, v)[1],
                 "vhp": lambda: F.vhp(fn, x, v)[1]}[what]()
        assert not plain.requires_grad
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10, atol=1e-12)


def test_unused_input_gives_zeros_unless_strict():
    def fn(x, y):
        return x * 2.0

    for lib in (torch, terra):
        x, y = lib.tensor([1.0, 2.0]), lib.tensor([3.0])
        jac = lib.autograd.functional.jacobian(fn, (x, y))
        assert tuple(jac[1].shape) == (2, 1) and not to_numpy(jac[1]).any()
    _expect_same_error(lambda lib: lib.autograd.functional.jacobian(
        fn, (lib.tensor([1.0, 2.0]), lib.tensor([3.0])), strict=True))
    _expect_same_error(lambda lib: lib.autograd.functional.vjp(
        fn, (lib.tensor([1.0, 2.0]), lib.tensor([3.0])), lib.tensor([1.0, 1.0]), strict=True))


def _expect_same_error(call):
    """call(torch) and call(terra) raise the same exception type and message."""
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(type(expected.value)) as actual:
        call(terra)
    assert str(actual.value).replace("terra.Size", "torch.Size") == str(expected.value)


@pytest.mark.parametrize("case", [
    "non_tensor_input", "non_tensor_output", "vjp_v_needed", "jvp_v_wrong_size",
    "jvp_v_wrong_length", "hessian_of_vector", "hvp_of_tuple", "vhp_v_needed",
    "strict_output_not_requiring_grad", "strict_linear_hvp", "strict_vectorize",
    "forward_mode_without_vectorize", "forward_mode_create_graph"])
def test_errors_match_torch(case):
    def call(lib):
        F = lib.autograd.functional
        x = lib.tensor([0.5, -1.5])
        return {
            "non_tensor_input": lambda: F.jacobian(lambda a: a, (x, 2.0)),
            "non_tensor_output": lambda: F.vjp(lambda a: 3, x),
            "vjp_v_needed": lambda: F.vjp(lambda a: a * 2, x),
            "jvp_v_wrong_size": lambda: F.jvp(lambda a: a * 2, x, lib.tensor([1.0])),
            "jvp_v_wrong_length": lambda: F.jvp(lambda a, b: a * b, (x, x), (x,)),
            "hessian_of_vector": lambda: F.hessian(lambda a: a ** 2, x),
            "hvp_of_tuple": lambda: F.hvp(lambda a: (a.sum(), a.sum()), x, x),
            "vhp_v_needed": lambda: F.vhp(lambda a: (a ** 2).sum(), x),
            "strict_output_not_requiring_grad": lambda: F.jacobian(
                lambda a: lib.ones(2), x, strict=True),
            "strict_linear_hvp": lambda: F.hvp(lambda a: (a * 3).sum(), x, x, strict=True),
            "strict_vectorize": lambda: F.jacobian(lambda a: a, x, strict=True, vectorize=True),
            "forward_mode_without_vectorize": lambda: F.jacobian(lambda a: a, x,
                                                                 strategy="forward-mode"),
            "forward_mode_create_graph": lambda: F.jacobian(
                lambda a: a, x, create_graph=True, vectorize=True, strategy="forward-mode"),
        }[case]()
    _expect_same_error(call)


@pytest.mark.parametrize("product", ["linear", "matmul", "matmul_vector", "mm", "bmm"])
def test_an_operand_only_the_others_gradient_reads_may_change_in_place_before_backward(product):
    """`o = lin(x)` with x needing no gradient keeps nothing of the weight (as PyTorch): an
    optimizer step before o.backward() is allowed, and the gradients are those of the values
    used. When x needs a gradient too, the weight is kept and the change is refused."""
    rng = np.random.default_rng(11)
    shapes = {"linear": ((5, 8), (4, 8)), "matmul": ((2, 5, 8), (8, 3)), "matmul_vector": ((8,), (8, 3)),
              "mm": ((5, 8), (8, 3)), "bmm": ((2, 5, 8), (2, 8, 3))}[product]
    x_data, w_data = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    bias_data = rng.standard_normal(4).astype(np.float32)

    def run(lib, x_needs_grad):
        x = lib.tensor(x_data, requires_grad=x_needs_grad)
        w = lib.tensor(w_data, requires_grad=True)
        bias = lib.tensor(bias_data, requires_grad=True)
        out = {"linear": lambda: lib.nn.functional.linear(x, w, bias), "mm": lambda: lib.mm(x, w),
               "bmm": lambda: lib.bmm(x, w)}.get(product, lambda: lib.matmul(x, w))()
        with lib.no_grad():
            w.mul_(0.5)
        (out * out).sum().backward()
        return w.grad.numpy()

    np.testing.assert_allclose(run(terra, False), run(torch, False), rtol=1e-5, atol=1e-6)
    for lib in (torch, terra):
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            run(lib, True)


def test_grad_mode_classes_decorate_a_function_bare_or_called():
    w = terra.tensor(np.random.default_rng(2).standard_normal(3), requires_grad=True)

    @terra.no_grad
    def bare(t):
        return t * 2

    @terra.no_grad()
    def called(t):
        return t * 2

    @terra.enable_grad
    def enabled(t):
        return t * 2

    assert not bare(w).requires_grad and not called(w).requires_grad
    np.testing.assert_allclose(bare(w).numpy(), 2 * w.detach().numpy())
    with terra.no_grad():
        assert enabled(w).requires_grad
    assert bare.__name__ == "bare" and terra.is_grad_enabled()
