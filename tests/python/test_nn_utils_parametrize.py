"""terra.nn.utils' reparametrizations against PyTorch 1.13: weight_norm and spectral_norm (hooks),
parametrize (register/remove/cached, several parametrizations, several originals),
parametrizations.spectral_norm and orthogonal, stateless.functional_call, the batchnorm fusions
and skip_init. Modules are built in both libraries with PyTorch's state copied into Terra's
(buffers such as spectral norm's u and v included); outputs, gradients and buffers after several
training steps must agree to ~1e-10, and misuse must raise PyTorch's exception."""
import copy
import pickle
import warnings

import numpy as np
import pytest
import torch

import terra
from parity import copy_state, to_numpy

RTOL = 1e-10


def utils(lib):
    return lib.nn.utils


def twin(build):
    """build(lib) for torch and terra in float64, terra given torch's state."""
    torch.manual_seed(0)
    tm = build(torch).double()
    xm = build(terra).double()
    copy_state(tm, xm)
    return tm, xm


def assert_close(actual, expected, what="", rtol=RTOL):
    a, e = to_numpy(actual), to_numpy(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * max(np.abs(e).max(initial=0), 1e-3),
                               err_msg=what)


def step(tm, xm, x, seed=0, rtol=RTOL):
    """One forward (output compared) and backward of a random-weighted sum; compares the input's
    and every parameter's gradient, then clears them."""
    weights = None
    grads = {}
    for lib, module in ((torch, tm), (terra, xm)):
        inp = lib.tensor(x, requires_grad=True)
        out = module(inp)
        if weights is None:
            weights = np.random.default_rng(seed).uniform(0.5, 1.5, size=tuple(out.shape))
        (out * lib.tensor(weights)).sum().backward()
        grads[lib] = [(name, None if t is None else to_numpy(t).copy()) for name, t in
                      [("output", out), ("input grad", inp.grad)] +
                      [(name, p.grad) for name, p in module.named_parameters()]]
        module.zero_grad(set_to_none=True)
    assert [n for n, _ in grads[terra]] == [n for n, _ in grads[torch]]
    for (name, a), (_, e) in zip(grads[terra], grads[torch]):
        assert (a is None) == (e is None), name
        if e is not None:
            assert_close(a, e, name, rtol)


def expect_same_error(call):
    """call(torch) and call(terra) raise the same exception type; returns the two messages."""
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(type(expected.value)) as actual:
        call(terra)
    return str(actual.value), str(expected.value)


def rand(seed, *shape):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 1.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


# ---------------------------------------------------------------------------------------------
# weight_norm


@pytest.mark.parametrize("build,dim,x_shape", [
    (lambda lib: lib.nn.Linear(4, 3), 0, (2, 4)),
    (lambda lib: lib.nn.Linear(4, 3), 1, (2, 4)),
    (lambda lib: lib.nn.Linear(4, 3), None, (2, 4)),
    (lambda lib: lib.nn.Linear(4, 3), -1, (2, 4)),  # -1 means the whole tensor, as None
    (lambda lib: lib.nn.Linear(4, 3), -2, (2, 4)),
    (lambda lib: lib.nn.Conv2d(2, 3, 3), 0, (1, 2, 5, 5)),
    (lambda lib: lib.nn.Conv2d(2, 3, 3), 2, (1, 2, 5, 5)),
])
def test_weight_norm(build, dim, x_shape):
    tm, xm = twin(lambda lib: utils(lib).weight_norm(build(lib), dim=dim))
    assert list(xm.state_dict()) == list(tm.state_dict())
    assert xm.weight_g.shape == tm.weight_g.shape
    for seed in range(2):
        step(tm, xm, rand(seed, *x_shape), seed)
    for module, lib in ((tm, torch), (xm, terra)):
        with lib.no_grad():
            module.weight_v.mul_(1.5)  # g keeps the norm: the weight is unchanged
    step(tm, xm, rand(3, *x_shape))
    utils(torch).remove_weight_norm(tm)
    utils(terra).remove_weight_norm(xm)
    assert isinstance(xm.weight, terra.nn.Parameter)
    assert list(dict(xm.named_parameters())) == list(dict(tm.named_parameters()))
    step(tm, xm, rand(4, *x_shape))


def test_weight_norm_errors():
    def twice(lib):
        utils(lib).weight_norm(utils(lib).weight_norm(lib.nn.Linear(3, 2)))

    actual, expected = expect_same_error(twice)
    assert actual == expected
    actual, expected = expect_same_error(lambda lib: utils(lib).remove_weight_norm(
        lib.nn.Linear(3, 2)))
    assert actual == expected
    actual, expected = expect_same_error(lambda lib: utils(lib).weight_norm(lib.nn.Linear(3, 2),
                                                                             dim=5))
    assert actual == expected
    actual, expected = expect_same_error(lambda lib: utils(lib).weight_norm(lib.nn.Linear(3, 2),
                                                                             name="kernel"))
    assert actual == expected


# ---------------------------------------------------------------------------------------------
# spectral_norm (the hook)


@pytest.mark.parametrize("build,kwargs,x_shape", [
    (lambda lib: lib.nn.Linear(5, 4), {}, (3, 5)),
    (lambda lib: lib.nn.Linear(5, 4), dict(n_power_iterations=3, eps=1e-6), (3, 5)),
    (lambda lib: lib.nn.Conv2d(2, 3, 3), dict(dim=1), (1, 2, 5, 5)),
    (lambda lib: lib.nn.ConvTranspose2d(3, 2, 3), {}, (1, 3, 4, 4)),  # dim 1 by default
])
def test_spectral_norm_training_and_eval(build, kwargs, x_shape):
    tm, xm = twin(lambda lib: utils(lib).spectral_norm(build(lib), **kwargs))
    assert list(xm.state_dict()) == list(tm.state_dict())
    for seed in range(3):  # each training forward moves u and v
        step(tm, xm, rand(seed, *x_shape), seed)
        assert_close(xm.weight_u, tm.weight_u, "u")
        assert_close(xm.weight_v, tm.weight_v, "v")
    tm.eval()
    xm.eval()
    u = to_numpy(xm.weight_u).copy()
    step(tm, xm, rand(5, *x_shape))
    np.testing.assert_array_equal(to_numpy(xm.weight_u), u)
    utils(torch).remove_spectral_norm(tm)
    utils(terra).remove_spectral_norm(xm)
    assert list(xm.state_dict()) == list(tm.state_dict())
    assert not xm._state_dict_hooks and not xm._load_state_dict_pre_hooks
    step(tm, xm, rand(6, *x_shape))


def test_spectral_norm_backward_through_two_forwards():
    """The GAN pattern D(real) - D(fake): each forward's backward uses its own u, v."""
    tm, xm = twin(lambda lib: utils(lib).spectral_norm(lib.nn.Linear(4, 3)))
    grads = []
    for lib, module in ((torch, tm), (terra, xm)):
        loss = module(lib.tensor(rand(1, 2, 4))).sum() - module(lib.tensor(rand(2, 2, 4))).sum()
        loss.backward()
        grads.append((loss, module.weight_orig.grad))
    for a, e in zip(grads[1], grads[0]):
        assert_close(a, e)


def test_spectral_norm_state_dict():
    tm, xm = twin(lambda lib: utils(lib).spectral_norm(lib.nn.Linear(4, 3)))
    state = xm.state_dict()
    assert state._metadata[""]["spectral_norm"] == tm.state_dict()._metadata[""]["spectral_norm"]
    fresh = utils(terra).spectral_norm(terra.nn.Linear(4, 3).double())
    fresh.load_state_dict(state)
    for name, value in state.items():
        np.testing.assert_array_equal(to_numpy(getattr(fresh, name)), to_numpy(value))


def test_spectral_norm_loads_a_version_0_state_dict():
    """Before version 1 the state held the normalized weight and no v: v is solved for."""
    tm, xm = twin(lambda lib: utils(lib).spectral_norm(lib.nn.Linear(4, 3)))
    step(tm, xm, rand(0, 2, 4))
    for module, lib in ((tm, torch), (xm, terra)):
        state = module.state_dict()
        state["weight"] = module.weight.detach()
        del state["weight_v"]
        state._metadata[""]["spectral_norm"] = {}
        module.load_state_dict(state)
    assert_close(xm.weight_v, tm.weight_v, "v", rtol=1e-8)


def test_spectral_norm_errors():
    for call in (
            lambda lib: utils(lib).spectral_norm(lib.nn.Linear(3, 2), n_power_iterations=0),
            lambda lib: utils(lib).spectral_norm(utils(lib).spectral_norm(lib.nn.Linear(3, 2))),
            lambda lib: utils(lib).remove_spectral_norm(lib.nn.Linear(3, 2))):
        actual, expected = expect_same_error(call)
        assert actual == expected


# ---------------------------------------------------------------------------------------------
# parametrize


def parametrization_classes(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).T

        def right_inverse(self, A):
            return A.triu()

    class Scale(lib.nn.Module):
        def forward(self, X):
            return X * 3.0

        def right_inverse(self, X):
            return X / 3.0

    class Sum(lib.nn.Module):  # two originals
        def forward(self, a, b):
            return a * b + b

        def right_inverse(self, X):
            return X * 0.5, lib.ones_like(X) * 2.0

    class Transposed(lib.nn.Module):  # changes the shape
        def forward(self, X):
            return X.T

    return dict(Symmetric=Symmetric, Scale=Scale, Sum=Sum, Transposed=Transposed)


def register(*names, tensor_name="weight", **kwargs):
    """A builder of Linear(3, 3) with the named parametrizations registered on tensor_name."""
    def build(lib):
        module = lib.nn.Linear(3, 3)
        for name in names:
            lib.nn.utils.parametrize.register_parametrization(
                module, tensor_name, parametrization_classes(lib)[name](), **kwargs)
        return module
    return build


@pytest.mark.parametrize("names", [("Symmetric",), ("Symmetric", "Scale"), ("Sum",),
                                   ("Sum", "Scale")])
def test_register_parametrization(names):
    tm, xm = twin(register(*names))
    assert type(xm).__name__ == type(tm).__name__ == "ParametrizedLinear"
    assert list(xm.state_dict()) == list(tm.state_dict())
    assert list(dict(xm.named_parameters())) == list(dict(tm.named_parameters()))
    P = terra.nn.utils.parametrize
    assert P.is_parametrized(xm) and P.is_parametrized(xm, "weight")
    assert not P.is_parametrized(xm, "bias")
    assert P.type_before_parametrizations(xm) is terra.nn.Linear
    assert_close(xm.weight, tm.weight, "weight")
    step(tm, xm, rand(0, 2, 3))
    # Assignment goes through right_inverse into the original(s).
    value = rand(1, 3, 3)
    value = value + value.T
    if names[0] == "Sum":
        tm.parametrizations.weight.right_inverse(torch.tensor(value))
        xm.parametrizations.weight.right_inverse(terra.tensor(value))
    else:
        tm.weight = torch.tensor(value)
        xm.weight = terra.tensor(value)
    for name, original in xm.parametrizations.weight.named_parameters():
        assert_close(original, tm.parametrizations.weight.get_parameter(name), name)
    step(tm, xm, rand(2, 2, 3))


def test_original_keeps_its_identity():
    """right_inverse's value is written into the registered parameter itself, so optimizers
    built before registering keep updating it."""
    module = terra.nn.Linear(3, 3)
    weight = module.weight
    terra.nn.utils.parametrize.register_parametrization(
        module, "weight", parametrization_classes(terra)["Symmetric"]())
    assert module.parametrizations.weight.original is weight
    terra.nn.utils.parametrize.remove_parametrizations(module, "weight")
    assert module.weight is weight and type(module) is terra.nn.Linear


@pytest.mark.parametrize("names", [("Symmetric", "Scale"), ("Sum",)])
@pytest.mark.parametrize("leave_parametrized", [True, False])
def test_remove_parametrizations(names, leave_parametrized):
    tm, xm = twin(register(*names))
    call = [lambda lib, m: lib.nn.utils.parametrize.remove_parametrizations(
        m, "weight", leave_parametrized=leave_parametrized)]
    if names == ("Sum",) and not leave_parametrized:
        actual, expected = expect_same_error(lambda lib: call[0](lib, tm if lib is torch else xm))
        assert actual == expected
        return
    call[0](torch, tm)
    call[0](terra, xm)
    assert type(xm) is terra.nn.Linear and not hasattr(xm, "parametrizations")
    assert isinstance(xm.weight, terra.nn.Parameter)
    assert list(xm.state_dict()) == list(tm.state_dict())
    step(tm, xm, rand(0, 2, 3))


def test_parametrized_buffer():
    def build(lib):
        module = lib.nn.BatchNorm1d(3)
        lib.nn.utils.parametrize.register_parametrization(
            module, "running_var", parametrization_classes(lib)["Scale"]())
        return module

    tm, xm = twin(build)
    assert list(xm.state_dict()) == list(tm.state_dict())
    assert "original" in dict(xm.parametrizations.running_var.named_buffers())
    tm.eval()
    xm.eval()
    step(tm, xm, rand(0, 4, 3))


def test_cached_computes_each_tensor_once():
    calls = []

    class Counting(terra.nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 2.0

    module = terra.nn.Linear(3, 3)
    P = terra.nn.utils.parametrize
    P.register_parametrization(module, "weight", Counting())
    calls.clear()
    with P.cached():
        first = module.weight
        assert module.weight is first
        with P.cached():
            assert module.weight is first
    assert len(calls) == 1
    assert module.weight is not first and len(calls) == 2


def test_unsafe_allows_a_new_shape():
    tm, xm = twin(lambda lib: lib.nn.utils.parametrize.register_parametrization(
        lib.nn.Linear(3, 2), "weight", parametrization_classes(lib)["Transposed"](), unsafe=True))
    assert tuple(xm.weight.shape) == (3, 2)
    assert_close(xm.weight, tm.weight)


def test_parametrize_errors():
    classes = {lib: parametrization_classes(lib) for lib in (torch, terra)}
    P = {lib: lib.nn.utils.parametrize for lib in (torch, terra)}
    for call in (
            lambda lib: P[lib].register_parametrization(lib.nn.Linear(3, 2), "weight",
                                                        classes[lib]["Transposed"]()),
            lambda lib: P[lib].register_parametrization(lib.nn.Linear(3, 3), "kernel",
                                                        classes[lib]["Scale"]()),
            lambda lib: P[lib].remove_parametrizations(lib.nn.Linear(3, 3), "weight"),
            lambda lib: P[lib].register_parametrization(
                P[lib].register_parametrization(lib.nn.Linear(3, 2), "weight",
                                                classes[lib]["Scale"]()),
                "weight", classes[lib]["Transposed"]()),
            lambda lib: pickle.dumps(register("Scale")(lib))):
        actual, expected = expect_same_error(call)
        assert actual.replace("terra.", "torch.") == expected


def test_parametrized_module_deep_copies():
    module = register("Symmetric", "Scale")(terra)
    clone = copy.deepcopy(module)
    assert type(clone).__name__ == "ParametrizedLinear"
    assert clone.parametrizations.weight.original is not module.parametrizations.weight.original
    np.testing.assert_array_equal(to_numpy(clone.weight), to_numpy(module.weight))


def test_transfer_parametrizations_and_params():
    source = register("Symmetric", "Scale")(terra)
    target = terra.nn.Linear(3, 3)
    terra.nn.utils.parametrize.transfer_parametrizations_and_params(source, target)
    assert len(target.parametrizations.weight) == 2
    np.testing.assert_array_equal(to_numpy(target.weight), to_numpy(source.weight))


# ---------------------------------------------------------------------------------------------
# parametrizations.spectral_norm and orthogonal


@pytest.mark.parametrize("build,kwargs,x_shape", [
    (lambda lib: lib.nn.Linear(5, 4), {}, (3, 5)),
    (lambda lib: lib.nn.Conv2d(2, 3, 3), dict(n_power_iterations=2), (1, 2, 5, 5)),
    (lambda lib: lib.nn.ConvTranspose2d(3, 2, 3), {}, (1, 3, 4, 4)),
])
def test_parametrizations_spectral_norm(build, kwargs, x_shape):
    tm, xm = twin(lambda lib: lib.nn.utils.parametrizations.spectral_norm(build(lib), **kwargs))
    assert list(xm.state_dict()) == list(tm.state_dict())
    for seed in range(3):
        step(tm, xm, rand(seed, *x_shape), seed)
        for name, buf in tm.named_buffers():
            assert_close(xm.get_buffer(name), buf, name)
    tm.eval()
    xm.eval()
    step(tm, xm, rand(4, *x_shape))


def test_parametrizations_spectral_norm_of_a_vector():
    tm, xm = twin(lambda lib: lib.nn.utils.parametrizations.spectral_norm(lib.nn.Linear(3, 4),
                                                                          name="bias"))
    step(tm, xm, rand(0, 2, 3))


def test_parametrizations_spectral_norm_errors():
    actual, expected = expect_same_error(lambda lib: lib.nn.utils.parametrizations.spectral_norm(
        lib.nn.Linear(3, 2), dim=2))
    assert actual == expected
    actual, expected = expect_same_error(lambda lib: lib.nn.utils.parametrizations.spectral_norm(
        lib.nn.Linear(3, 2), n_power_iterations=0))
    assert actual == expected


@pytest.mark.parametrize("shape,orthogonal_map,use_trivialization", [
    ((4, 4), None, True), ((4, 4), "cayley", True), ((4, 4), "householder", True),
    ((5, 3), "matrix_exp", True), ((3, 5), None, True), ((5, 3), "householder", False),
    ((3, 5), "householder", False), ((4, 4), "cayley", False),
])
def test_orthogonal(shape, orthogonal_map, use_trivialization):
    out_features, in_features = shape
    tm, xm = twin(lambda lib: lib.nn.utils.parametrizations.orthogonal(
        lib.nn.Linear(in_features, out_features, dtype=lib.float64), orthogonal_map=orthogonal_map,
        use_trivialization=use_trivialization))
    assert list(xm.state_dict()) == list(tm.state_dict())
    Q = to_numpy(xm.weight)
    gram = Q.T @ Q if out_features >= in_features else Q @ Q.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-12)
    assert_close(xm.weight, tm.weight, "weight")
    step(tm, xm, rand(0, 2, in_features))
    if use_trivialization or orthogonal_map == "householder":
        value = np.linalg.qr(rand(1, max(shape), min(shape)))[0]
        value = value if out_features >= in_features else value.T
        tm.weight = torch.tensor(value)
        xm.weight = terra.tensor(value)
        assert_close(xm.weight, tm.weight, "assigned weight")
        # A non-square value is completed to a square base with random columns: torch's.
        copy_state(tm, xm)
        step(tm, xm, rand(2, 2, in_features))


def test_orthogonal_errors():
    orthogonal = {lib: lib.nn.utils.parametrizations.orthogonal for lib in (torch, terra)}
    for call in (lambda lib: orthogonal[lib](lib.nn.Linear(3, 3), name="bias"),
                 lambda lib: orthogonal[lib](lib.nn.Linear(3, 3), orthogonal_map="qr")):
        actual, expected = expect_same_error(call)
        assert actual == expected

    def assign_to_matrix_exp(lib):
        module = orthogonal[lib](lib.nn.Linear(3, 3), use_trivialization=False)
        module.weight = lib.eye(3, dtype=module.weight.dtype)

    actual, expected = expect_same_error(assign_to_matrix_exp)
    assert actual == expected


# ---------------------------------------------------------------------------------------------
# functional_call


def net(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Tanh(),
                             lib.nn.Linear(4, 2))


def test_functional_call_replaces_parameters_and_buffers():
    tm, xm = twin(net)
    names = ["0.weight", "1.running_mean", "1.bias", "3.weight"]
    rng = np.random.default_rng(0)
    replacement = {name: rng.standard_normal(tuple(tm.state_dict()[name].shape))
                   for name in names}
    before = {name: to_numpy(t).copy() for name, t in xm.state_dict().items()}
    results = {}
    for lib, module in ((torch, tm), (terra, xm)):
        given = {name: lib.tensor(value, requires_grad="running" not in name)
                 for name, value in replacement.items()}
        out = lib.nn.utils.stateless.functional_call(module, given, (lib.tensor(rand(1, 5, 3)),))
        (out * lib.tensor(rand(2, 5, 2))).sum().backward()
        results[lib] = [out] + [given[n].grad for n in names if "running" not in n] + \
            [given["1.running_mean"]] + [p.grad for p in module.parameters()]
        assert type(module) is lib.nn.Sequential
    for a, e in zip(results[terra], results[torch]):
        assert (a is None) == (e is None)
        if e is not None:
            assert_close(a, e)
    # The replaced tensors of the module are untouched; the others (running_var) train on.
    for name, value in xm.state_dict().items():
        if name in names:
            np.testing.assert_array_equal(to_numpy(value), before[name], err_msg=name)
        else:
            assert_close(value, tm.state_dict()[name], name)


def test_functional_call_arguments_and_parametrizations():
    class Scaled(terra.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = terra.nn.Parameter(terra.ones(2, dtype=terra.float64))

        def forward(self, x, scale=1.0):
            return x * self.weight * scale

    module = Scaled()
    call = terra.nn.utils.stateless.functional_call
    x = terra.tensor([1.0, 2.0], dtype=terra.float64)
    weight = terra.tensor([3.0, 4.0], dtype=terra.float64)
    assert to_numpy(call(module, {"weight": weight}, x, {"scale": 2.0})).tolist() == [6.0, 16.0]
    terra.nn.utils.parametrize.register_parametrization(
        module, "weight", parametrization_classes(terra)["Scale"]())
    # The plain name replaces the parametrized value; the original goes through it.
    assert to_numpy(call(module, {"weight": weight}, (x,))).tolist() == [3.0, 8.0]
    assert to_numpy(call(module, {"parametrizations.weight.original": weight}, (x,))).tolist() \
        == [9.0, 24.0]
    assert type(module).__name__ == "ParametrizedScaled"


def test_functional_call_restores_the_module_after_an_error():
    module = terra.nn.Linear(3, 2)
    with pytest.raises(RuntimeError):
        terra.nn.utils.stateless.functional_call(module, {"weight": terra.zeros(5, 5)},
                                                 (terra.zeros(1, 3),))
    assert type(module) is terra.nn.Linear and not hasattr(module, "_attr_to_path")


def test_functional_call_warns_about_two_values_for_tied_weights():
    module = terra.nn.Sequential(terra.nn.Linear(2, 2), terra.nn.Linear(2, 2))
    module[1].weight = module[0].weight
    with pytest.warns(UserWarning, match="tied weights"):
        terra.nn.utils.stateless.functional_call(
            module, {"0.weight": terra.zeros(2, 2), "1.weight": terra.ones(2, 2)},
            (terra.zeros(1, 2),))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same tensor for both names is fine
        zeros = terra.zeros(2, 2)
        terra.nn.utils.stateless.functional_call(module, {"0.weight": zeros, "1.weight": zeros},
                                                 (terra.zeros(1, 2),))


# ---------------------------------------------------------------------------------------------
# fusion and skip_init


def with_bn_stats(bn, lib, seed):
    """bn in eval mode with random running statistics and affine parameters."""
    n = bn.num_features
    with lib.no_grad():
        bn.running_mean.copy_(lib.tensor(rand(seed, n)))
        bn.running_var.copy_(lib.tensor(np.abs(rand(seed + 1, n)) + 0.5))
        bn.weight.copy_(lib.tensor(rand(seed + 2, n)))
        bn.bias.copy_(lib.tensor(rand(seed + 3, n)))
    return bn.eval()


@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "conv_no_bias", "linear"])
def test_fusion(kind):
    layers = {
        "conv": (lambda lib: lib.nn.Conv2d(2, 3, 3), lambda lib: lib.nn.BatchNorm2d(3),
                 (1, 2, 5, 5)),
        "conv_transpose": (lambda lib: lib.nn.ConvTranspose2d(2, 3, 3),
                           lambda lib: lib.nn.BatchNorm2d(3), (1, 2, 4, 4)),
        "conv_no_bias": (lambda lib: lib.nn.Conv1d(2, 3, 3, bias=False),
                         lambda lib: lib.nn.BatchNorm1d(3), (2, 2, 6)),
        "linear": (lambda lib: lib.nn.Linear(3, 4), lambda lib: lib.nn.BatchNorm1d(4), (5, 3)),
    }
    make_layer, make_bn, x_shape = layers[kind]
    tm, xm = twin(lambda lib: lib.nn.Sequential(make_layer(lib),
                                                with_bn_stats(make_bn(lib), lib, 1)).eval())
    fused = []
    for lib, module in ((torch, tm), (terra, xm)):
        U = lib.nn.utils
        if kind == "linear":
            fused.append(U.fusion.fuse_linear_bn_eval(module[0], module[1]))
        else:
            fused.append(U.fuse_conv_bn_eval(module[0], module[1],
                                             transpose=kind == "conv_transpose"))
    x = rand(0, *x_shape)
    assert_close(fused[1](terra.tensor(x)), xm(terra.tensor(x)), "fused vs unfused")
    step(fused[0], fused[1], x)
    assert fused[1] is not xm[0]


def test_fusion_requires_eval_mode():
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        terra.nn.utils.fuse_conv_bn_eval(terra.nn.Conv2d(1, 2, 3), terra.nn.BatchNorm2d(2))


def test_skip_init():
    module = terra.nn.utils.skip_init(terra.nn.Linear, 5, out_features=2)
    assert type(module) is terra.nn.Linear and tuple(module.weight.shape) == (2, 5)

    class NoDevice(terra.nn.Module):
        def __init__(self, size):
            super().__init__()

    class TorchNoDevice(torch.nn.Module):
        def __init__(self, size):
            super().__init__()

    actual, expected = expect_same_error(lambda lib: lib.nn.utils.skip_init(
        NoDevice if lib is terra else TorchNoDevice, 3))
    assert actual == expected
    actual, expected = expect_same_error(lambda lib: lib.nn.utils.skip_init(int, 3))
    assert actual.replace("terra", "torch") == expected
