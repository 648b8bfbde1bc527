"""terra.optim against torch.optim (PyTorch 1.13): the same parameters and the same gradient rule,
stepped 20 times, must agree (rtol 1e-5 in float32, 1e-10 in float64); state_dict round trips,
parameter groups, zero_grad, closures and LBFGS (with and without line search).

Most cases set `.grad` from a closed-form gradient (a separable quartic, computed with each
library's own ops), so they test the optimizers alone; one case per optimizer family trains a
small MLP through autograd.
"""
import numpy as np
import pytest

import terra
import torch

from parity import assert_close, to_numpy, to_terra

SHAPES = [(4, 3), (3,), (2, 2, 2)]
STEPS = 20
TOL = {'float32': dict(rtol=1e-5, atol=1e-6), 'float64': dict(rtol=1e-10, atol=1e-12)}

# (optimizer name, constructor options); each runs in float32 and float64.
CASES = [
    ('SGD', dict(lr=0.1)),
    ('SGD', dict(lr=0.1, momentum=0.9)),
    ('SGD', dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ('SGD', dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=True)),
    ('Adam', dict()),
    ('Adam', dict(lr=0.01, amsgrad=True)),
    ('Adam', dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ('Adam', dict(lr=0.02, betas=(0.8, 0.9), eps=1e-6)),
    ('AdamW', dict(lr=0.01)),
    ('AdamW', dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ('AdamW', dict(lr=0.01, maximize=True)),
    ('RMSprop', dict(lr=0.01)),
    ('RMSprop', dict(lr=0.01, centered=True)),
    ('RMSprop', dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ('RMSprop', dict(lr=0.01, momentum=0.5, alpha=0.9, maximize=True)),
    ('Adagrad', dict(lr=0.1)),
    ('Adagrad', dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
    ('Adagrad', dict(lr=0.1, eps=1e-8, maximize=True)),
    ('Adadelta', dict()),
    ('Adadelta', dict(lr=0.5, rho=0.8, weight_decay=0.1)),
    ('Adadelta', dict(eps=1e-5, maximize=True)),
    ('Adamax', dict()),
    ('Adamax', dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ('NAdam', dict(lr=0.01)),
    ('NAdam', dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ('RAdam', dict(lr=0.01)),  # rectified from the 6th step on
    ('RAdam', dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1)),
]


def case_id(case):
    name, kw = case
    return name + ''.join(f'-{k}={v}' for k, v in kw.items())


class Problem:
    """f(p) = sum(a (p - c)^2 + b (p - c)^4) over the parameters, with its gradient in closed form;
    the same numbers for torch and terra."""

    def __init__(self, dtype='float32', seed=0):
        rng = np.random.default_rng(seed)
        self.dtype = dtype
        self.init = [rng.uniform(-1.5, 1.5, s).astype(dtype) for s in SHAPES]
        self.a = [rng.uniform(0.5, 2.0, s).astype(dtype) for s in SHAPES]
        self.b = [rng.uniform(0.05, 0.3, s).astype(dtype) for s in SHAPES]
        self.c = [rng.uniform(-0.5, 0.5, s).astype(dtype) for s in SHAPES]

    def params(self, lib):
        if lib is torch:
            return [torch.tensor(x, requires_grad=True) for x in self.init]
        return [to_terra(x, requires_grad=True) for x in self.init]

    def constants(self, lib):
        conv = torch.tensor if lib is torch else to_terra
        return [[conv(x) for x in xs] for xs in (self.a, self.b, self.c)]

    def set_grads(self, lib, params, consts):
        a, b, c = consts
        with lib.no_grad():
            for p, ai, bi, ci in zip(params, a, b, c):
                d = p - ci
                p.grad = 2 * ai * d + 4 * bi * d * d * d

    def loss(self, lib, params, consts):
        a, b, c = consts
        total = 0
        for p, ai, bi, ci in zip(params, a, b, c):
            d = p - ci
            total = total + (ai * d * d + bi * d * d * d * d).sum()
        return total


def run(lib, problem, name, kw, steps=STEPS, params=None, opt=None):
    params = problem.params(lib) if params is None else params
    consts = problem.constants(lib)
    opt = getattr(lib.optim, name)(params, **kw) if opt is None else opt
    for _ in range(steps):
        opt.zero_grad()
        problem.set_grads(lib, params, consts)
        opt.step()
    return params, opt


def assert_params_close(actual, expected, dtype, what=''):
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert_close(a, e, what=f'{what} param {i}', **TOL[dtype])


@pytest.mark.parametrize('dtype', ['float32', 'float64'])
@pytest.mark.parametrize('case', CASES, ids=case_id)
def test_matches_torch(case, dtype):
    name, kw = case
    problem = Problem(dtype)
    expected, _ = run(torch, problem, name, kw)
    actual, _ = run(terra, problem, name, kw)
    assert actual[0].dtype == getattr(terra, dtype)
    assert_params_close(actual, expected, dtype, case_id(case))


def _state_layout(opt, lib):
    """{index: {key: (kind, shape)}} of a state_dict, for comparing layouts across libraries."""
    out = {}
    for idx, st in opt.state_dict()['state'].items():
        out[idx] = {k: ('tensor', tuple(v.shape)) if isinstance(v, lib.Tensor) else (type(v).__name__, None)
                    for k, v in st.items()}
    return out


@pytest.mark.parametrize('case', [c for i, c in enumerate(CASES) if i % 2 == 1], ids=case_id)
def test_state_dict_round_trip(case):
    """Save after 10 steps, load into a new optimizer, step 10 more: the same as 20 steps
    uninterrupted (and as torch); the state_dict has PyTorch's layout."""
    name, kw = case
    problem = Problem('float64', seed=1)
    expected, torch_opt = run(torch, problem, name, kw)

    params, opt = run(terra, problem, name, kw, steps=10)
    saved = opt.state_dict()
    torch_half, torch_half_opt = run(torch, problem, name, kw, steps=10)
    assert _state_layout(opt, terra) == _state_layout(torch_half_opt, torch)
    torch_saved = torch_half_opt.state_dict()
    assert saved['param_groups'] == torch_saved['param_groups']
    for idx, st in torch_saved['state'].items():
        for key, value in st.items():
            if isinstance(value, torch.Tensor):
                assert_close(saved['state'][idx][key], value, what=f'state {idx} {key}', **TOL['float64'])
            else:
                assert saved['state'][idx][key] == value, key

    fresh = getattr(terra.optim, name)(params, **kw)
    fresh.load_state_dict(saved)
    # The loaded state is a copy: changing the saved tensors must not change the new optimizer.
    for st in saved['state'].values():
        for value in st.values():
            if isinstance(value, terra.Tensor):
                value.add_(1.0)
    actual, _ = run(terra, problem, name, kw, steps=10, params=params, opt=fresh)
    assert_params_close(actual, expected, 'float64', 'resumed ' + case_id(case))


def test_load_torch_state_dict():
    """A state_dict saved by torch (tensors converted) resumes in terra as it would in torch."""
    problem = Problem('float64', seed=2)
    kw = dict(lr=0.01, amsgrad=True, weight_decay=0.1)
    expected, _ = run(torch, problem, 'Adam', kw)
    half, torch_opt = run(torch, problem, 'Adam', kw, steps=10)
    sd = torch_opt.state_dict()
    converted = {'state': {i: {k: to_terra(v) for k, v in st.items()} for i, st in sd['state'].items()},
                 'param_groups': sd['param_groups']}
    params = [to_terra(p.detach(), requires_grad=True) for p in half]
    opt = terra.optim.Adam(params, **kw)
    opt.load_state_dict(converted)
    assert opt.state[params[0]]['step'] == 10
    actual, _ = run(terra, problem, 'Adam', kw, steps=10, params=params, opt=opt)
    assert_params_close(actual, expected, 'float64')


def test_load_state_dict_casts_to_param_dtype():
    problem = Problem('float32', seed=3)
    params, opt = run(terra, problem, 'Adam', dict(lr=0.01), steps=3)
    sd = opt.state_dict()
    sd64 = {'state': {i: {k: v.to(terra.float64) if k != 'step' else v for k, v in st.items()}
                      for i, st in sd['state'].items()},
            'param_groups': sd['param_groups']}
    fresh = terra.optim.Adam(params, lr=0.01)
    fresh.load_state_dict(sd64)
    assert fresh.state[params[0]]['exp_avg'].dtype == terra.float32
    assert sd['state'][0]['step'].dtype == terra.float32


@pytest.mark.parametrize('name,kw', [('SGD', dict(lr=0.01, momentum=0.9)), ('Adam', dict(lr=0.001))])
def test_param_groups_with_different_lrs(name, kw):
    problem = Problem('float32', seed=4)
    results = []
    for lib in (torch, terra):
        params = problem.params(lib)
        groups = [{'params': [params[0]], 'lr': 0.1}, {'params': params[1:]}]
        opt = getattr(lib.optim, name)(groups, **kw)
        assert [g['lr'] for g in opt.param_groups] == [0.1, kw['lr']]
        results.append(run(lib, problem, name, kw, params=params, opt=opt)[0])
    assert_params_close(results[1], results[0], 'float32')


def test_add_param_group_and_repr():
    problem = Problem('float32', seed=5)
    reprs, groups = [], []
    for lib in (torch, terra):
        params = problem.params(lib)
        opt = lib.optim.SGD(params[:2], lr=0.1, momentum=0.5)
        opt.add_param_group({'params': params[2], 'lr': 0.01})
        with pytest.raises(ValueError):
            opt.add_param_group({'params': [params[0]]})
        reprs.append(repr(opt))
        groups.append([{k: v for k, v in g.items() if k != 'params'} for g in opt.param_groups])
    assert reprs[1] == reprs[0]
    assert groups[1] == groups[0]


def test_constructor_errors():
    p = to_terra(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(ValueError, match='Invalid learning rate'):
        terra.optim.Adam([p], lr=-1)
    with pytest.raises(ValueError, match='Invalid beta parameter at index 1'):
        terra.optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match='Nesterov momentum requires'):
        terra.optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match='empty parameter list'):
        terra.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError):
        terra.optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="didn't specify a value of required"):
        terra.optim.SGD([p])


def test_zero_grad():
    p = to_terra(np.full(3, 2.0, np.float32), requires_grad=True)
    opt = terra.optim.SGD([p], lr=0.1)
    p.grad = to_terra(np.ones(3, np.float32))
    opt.zero_grad()  # PyTorch 1.13's default: zeroed in place
    np.testing.assert_array_equal(to_numpy(p.grad), np.zeros(3))
    opt.zero_grad(set_to_none=True)
    assert p.grad is None


@pytest.mark.parametrize("owner", ["optimizer", "module"])
def test_zero_grad_keeps_zero_gradients_so_adam_moves_a_frozen_parameter_as_torch(owner):
    """Adam steps a parameter whose gradient was zeroed (its momentum goes on), and skips one
    whose gradient is None: PyTorch 1.13's zero_grad() zeroes, so a layer frozen mid-run moves on."""
    start = np.random.default_rng(3).standard_normal((2, 3)).astype(np.float32)

    def run(lib):
        layer = lib.nn.Linear(3, 2, bias=False)
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(start))
        opt = lib.optim.Adam(layer.parameters(), lr=0.1)
        x = lib.tensor(start)
        for step in range(4):
            (opt if owner == "optimizer" else layer).zero_grad()
            if step == 2:
                layer.weight.requires_grad_(False)  # frozen: backward no longer reaches it
                frozen_at = layer.weight.detach().clone().numpy()
            if layer.weight.requires_grad:
                (layer(x) ** 2).sum().backward()
            opt.step()
        return layer.weight.detach().numpy(), layer.weight.grad.numpy(), frozen_at

    (want_weight, want_grad, _), (got_weight, got_grad, frozen_at) = run(torch), run(terra)
    np.testing.assert_allclose(got_weight, want_weight, rtol=1e-6)
    np.testing.assert_array_equal(got_grad, np.zeros((2, 3)))
    np.testing.assert_array_equal(got_grad, want_grad)
    assert np.abs(got_weight - frozen_at).min() > 1e-3  # every weight moved on while frozen


def test_step_skips_params_without_grad_and_returns_closure_loss():
    problem = Problem('float32', seed=6)
    params = problem.params(terra)
    consts = problem.constants(terra)
    before = to_numpy(params[1]).copy()
    opt = terra.optim.Adam(params, lr=0.1)

    def closure():
        opt.zero_grad()
        problem.set_grads(terra, params, consts)
        params[1].grad = None
        return 42.0

    assert opt.step(closure) == 42.0
    np.testing.assert_array_equal(to_numpy(params[1]), before)
    assert params[1] not in opt.state or not opt.state[params[1]]
    assert opt.state[params[0]]['step'] == 1


# ---------------------------------------------------------------- through autograd

def _mlp_loss(lib, params, x, y):
    w1, b1, w2 = params
    h = lib.tanh(x @ w1 + b1)
    return ((h @ w2 - y) ** 2).mean()


@pytest.mark.parametrize('case', [CASES[2], CASES[5], CASES[10], CASES[13], CASES[16], CASES[19]], ids=case_id)
def test_mlp_through_autograd(case):
    name, kw = case
    rng = np.random.default_rng(7)
    init = [rng.normal(0, 0.5, s).astype(np.float32) for s in [(5, 8), (8,), (8, 2)]]
    x = rng.normal(size=(16, 5)).astype(np.float32)
    y = rng.normal(size=(16, 2)).astype(np.float32)
    results = []
    for lib, conv in ((torch, torch.tensor), (terra, to_terra)):
        params = [conv(v.copy()) for v in init]
        for p in params:
            p.requires_grad_(True)
        opt = getattr(lib.optim, name)(params, **kw)
        xs, ys = conv(x), conv(y)
        losses = []
        for _ in range(STEPS):
            opt.zero_grad()
            loss = _mlp_loss(lib, params, xs, ys)
            loss.backward()
            opt.step()
            losses.append(float(loss))
        results.append((params, losses))
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-5)
    assert_params_close(results[1][0], results[0][0], 'float32', case_id(case))


# ---------------------------------------------------------------- LBFGS

def _lbfgs_run(lib, problem, kw, outer_steps=3, autograd=False):
    params = problem.params(lib)
    consts = problem.constants(lib)
    opt = lib.optim.LBFGS(params, **kw)
    calls = [0]

    def closure():
        calls[0] += 1
        opt.zero_grad()
        if autograd:
            loss = problem.loss(lib, params, consts)
            loss.backward()
            return loss
        problem.set_grads(lib, params, consts)
        with lib.no_grad():
            return problem.loss(lib, params, consts)

    first_losses = [float(opt.step(closure)) for _ in range(outer_steps)]
    return params, first_losses, calls[0], opt


@pytest.mark.parametrize('dtype', ['float32', 'float64'])
@pytest.mark.parametrize('kw', [dict(), dict(line_search_fn='strong_wolfe'),
                                dict(lr=0.5, history_size=3, max_iter=7),
                                dict(line_search_fn='strong_wolfe', history_size=4, max_iter=10, max_eval=14)],
                         ids=['fixed-step', 'strong-wolfe', 'short-history', 'strong-wolfe-short'])
def test_lbfgs_matches_torch(kw, dtype):
    problem = Problem(dtype, seed=8)
    expected, e_losses, e_calls, e_opt = _lbfgs_run(torch, problem, kw)
    actual, a_losses, a_calls, a_opt = _lbfgs_run(terra, problem, kw)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == 'float32' else TOL['float64']
    assert a_calls == e_calls
    np.testing.assert_allclose(a_losses, e_losses, **tol)
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert_close(a, e, what=f'LBFGS param {i}', **tol)
    a_state = a_opt.state[actual[0]]
    e_state = e_opt.state[expected[0]]
    assert a_state['n_iter'] == e_state['n_iter'] and a_state['func_evals'] == e_state['func_evals']


def test_lbfgs_closure_through_autograd():
    """The closure runs with gradients enabled inside step() (which runs under no_grad)."""
    problem = Problem('float64', seed=10)
    kw = dict(line_search_fn='strong_wolfe', max_iter=12)
    expected, e_losses, e_calls, _ = _lbfgs_run(torch, problem, kw, autograd=True)
    actual, a_losses, a_calls, _ = _lbfgs_run(terra, problem, kw, autograd=True)
    assert a_calls == e_calls
    np.testing.assert_allclose(a_losses, e_losses, **TOL['float64'])
    assert_params_close(actual, expected, 'float64', 'LBFGS autograd')


def test_lbfgs_lstm_regression_matches_torch():
    """LBFGS (strong Wolfe) fitting a small LSTM + linear head: the losses and final weights agree."""
    from parity import copy_state
    torch.manual_seed(0)
    rng = np.random.default_rng(9)
    x = rng.normal(size=(6, 4, 3))   # (seq, batch, feature)
    y = rng.normal(size=(4, 1))
    modules = {torch: (torch.nn.LSTM(3, 5).double(), torch.nn.Linear(5, 1).double()),
               terra: (terra.nn.LSTM(3, 5).double(), terra.nn.Linear(5, 1).double())}
    for t_mod, mod in zip(modules[torch], modules[terra]):
        copy_state(t_mod, mod)
    results = []
    for lib, conv in ((torch, torch.tensor), (terra, to_terra)):
        lstm, head = modules[lib]
        xs, ys = conv(x), conv(y)
        params = list(lstm.parameters()) + list(head.parameters())
        opt = lib.optim.LBFGS(params, lr=0.5, max_iter=8, history_size=5, line_search_fn='strong_wolfe')

        def closure():
            opt.zero_grad()
            out, _ = lstm(xs)
            loss = ((head(out[-1]) - ys) ** 2).mean()
            loss.backward()
            return loss

        losses = [float(opt.step(closure)) for _ in range(3)]
        results.append((losses, [to_numpy(p) for p in params]))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-8)
    for a, e in zip(results[1][1], results[0][1]):
        np.testing.assert_allclose(a, e, rtol=1e-7, atol=1e-9)
