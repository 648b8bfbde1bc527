"""optim.Rprop, optim.ASGD and lr_scheduler.CyclicLR (bindings/terra/optim/more.py,
lr_scheduler.py) against PyTorch 1.13: parameters (and ASGD's averages) after 20 steps through
autograd, state_dict layout and round trips, the learning-rate and momentum sequences, errors."""
import warnings

import numpy as np
import pytest

import terra
from parity import assert_close, to_numpy

torch = pytest.importorskip("torch")

STEPS = 20
TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-13)}


def _params(lib, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [lib.tensor(rng.uniform(-1.5, 1.5, shape).astype(dtype), requires_grad=True) for shape in [(4, 3), (3,)]]


def _loss(params):
    """A smooth non-separable loss whose gradient changes sign now and then (Rprop's etaminus)."""
    a, b = params
    return ((a @ b - 0.3) ** 2).sum() + (a.sin() * 0.5).sum() + (b ** 4).sum()


def _train(lib, name, kw, dtype, steps=STEPS):
    params = _params(lib, dtype)
    opt = getattr(lib.optim, name)(params, **kw)
    for _ in range(steps):
        opt.zero_grad()
        _loss(params).backward()
        opt.step()
    return params, opt


CASES = [
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.02, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=1e-2, alpha=0.5, t0=5, weight_decay=0.1)),
    ("ASGD", dict(lr=0.03, t0=0, maximize=True)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_torch(name, kw, dtype):
    ours, our_opt = _train(terra, name, kw, dtype)
    theirs, their_opt = _train(torch, name, kw, dtype)
    for a, b in zip(ours, theirs):
        assert_close(a, b, what=f"{name} parameter", **TOL[dtype])
    our_state, their_state = our_opt.state_dict(), their_opt.state_dict()
    assert our_state["param_groups"] == their_state["param_groups"]
    for index, theirs_of_param in their_state["state"].items():
        ours_of_param = our_state["state"][index]
        assert list(ours_of_param) == list(theirs_of_param)
        for key, value in theirs_of_param.items():
            if isinstance(value, torch.Tensor):
                assert str(ours_of_param[key].dtype) == str(value.dtype).replace("torch", "terra"), key
                assert_close(ours_of_param[key], value, what=f"{name} state {key}", **TOL[dtype])
            else:
                assert ours_of_param[key] == value, key


@pytest.mark.parametrize("name,kw", [CASES[1], CASES[4]], ids=["Rprop", "ASGD"])
def test_state_dict_round_trip(name, kw):
    """Ten steps, a state_dict saved and loaded into a fresh optimizer (PyTorch's too), ten more."""
    params, opt = _train(terra, name, kw, "float64", steps=10)
    fresh = getattr(terra.optim, name)(params, **kw)
    fresh.load_state_dict(opt.state_dict())
    resumed = getattr(terra.optim, name)(params, **kw)
    reference, their_opt = _train(torch, name, kw, "float64", steps=10)
    resumed_from_torch = getattr(terra.optim, name)([terra.tensor(to_numpy(p), requires_grad=True)
                                                     for p in reference], **kw)
    resumed_from_torch.load_state_dict({"state": {k: {n: terra.tensor(to_numpy(v)) if isinstance(v, torch.Tensor)
                                                      else v for n, v in s.items()}
                                                  for k, s in their_opt.state_dict()["state"].items()},
                                        "param_groups": their_opt.state_dict()["param_groups"]})
    resumed.load_state_dict(fresh.state_dict())
    for optimizer in (resumed, resumed_from_torch, their_opt):
        group = optimizer.param_groups[0]["params"]
        for _ in range(10):
            optimizer.zero_grad()
            _loss(group).backward()
            optimizer.step()
    for ours, mine_from_torch, theirs in zip(params, resumed_from_torch.param_groups[0]["params"], reference):
        assert_close(ours, theirs, **TOL["float64"])
        assert_close(mine_from_torch, theirs, **TOL["float64"])


ERRORS = [
    ("Rprop", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("Rprop", dict(etas=(1.5, 2.0)), "Invalid eta values: 1.5, 2.0"),
    ("ASGD", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("ASGD", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
]


@pytest.mark.parametrize("name,kw,message", ERRORS)
def test_constructor_errors(name, kw, message):
    for lib in (torch, terra):
        with pytest.raises(ValueError, match=message):
            getattr(lib.optim, name)([lib.ones(2, requires_grad=True)], **kw)


# ---------------------------------------------------------------------------------------------
# CyclicLR


def _optimizer(lib, name="SGD"):
    groups = [{"params": [lib.ones(3, requires_grad=True)]}, {"params": [lib.ones(2, requires_grad=True)], "lr": 0.5}]
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9) if name == "SGD" else getattr(lib.optim, name)(groups, lr=0.1)


class Halving:
    """A callable object as scale_fn: its attributes go into the state_dict."""

    def __init__(self):
        self.base = 0.5

    def __call__(self, x):
        return self.base ** x


SCHEDULES = [
    dict(base_lr=0.01, max_lr=0.1, step_size_up=4),
    dict(base_lr=[0.01, 0.02], max_lr=[0.1, 0.3], step_size_up=3, step_size_down=5, mode="triangular2",
         base_momentum=0.7, max_momentum=[0.95, 0.9]),
    dict(base_lr=0.01, max_lr=0.1, step_size_up=5, mode="exp_range", gamma=0.97),
    dict(base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=lambda x: 1 / (x + 1), scale_mode="iterations"),
    dict(base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=lambda x: 0.8 ** x, cycle_momentum=False),
]


def _sequence(lib, kw, name="SGD", epochs=30):
    opt = _optimizer(lib, name)
    scheduler = lib.optim.lr_scheduler.CyclicLR(opt, **kw)
    seen = []
    for _ in range(epochs):
        opt.step()
        scheduler.step()
        seen.append([(g["lr"], g.get("momentum", g.get("betas", (None,))[0])) for g in opt.param_groups])
    return seen, scheduler


@pytest.mark.parametrize("kw", SCHEDULES, ids=[str(i) for i in range(len(SCHEDULES))])
def test_cyclic_lr_matches_torch(kw):
    ours, our_scheduler = _sequence(terra, kw)
    theirs, their_scheduler = _sequence(torch, kw)
    np.testing.assert_allclose(np.array(ours, dtype=float), np.array(theirs, dtype=float), rtol=1e-15, atol=0)
    assert our_scheduler.get_last_lr() == their_scheduler.get_last_lr()


def test_cyclic_lr_cycles_adam_beta1_as_momentum():
    """PyTorch 1.13 refuses an optimizer without momentum; PyTorch 2 cycles betas[0] as momentum:
    the sequence SGD's momentum follows."""
    kw = dict(base_lr=0.01, max_lr=0.1, step_size_up=4, mode="triangular2")
    betas, _ = _sequence(terra, kw, "Adam")
    reference, _ = _sequence(torch, kw)
    assert betas == reference
    opt = _optimizer(terra, "Adam")
    terra.optim.lr_scheduler.CyclicLR(opt, **kw)
    assert [g["betas"][1] for g in opt.param_groups] == [0.999, 0.999]


def test_cyclic_lr_state_dict_and_resume():
    kw = dict(base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2")
    _, scheduler = _sequence(terra, kw, epochs=7)
    state = scheduler.state_dict()
    assert state["_scale_fn_custom"] is None and "optimizer" not in state
    opt = _optimizer(terra)
    resumed = terra.optim.lr_scheduler.CyclicLR(opt, **kw)
    resumed.load_state_dict(state)
    reference, _ = _sequence(torch, kw, epochs=8)
    resumed.step()
    assert resumed.get_last_lr() == [lr for lr, _ in reference[-1]]
    # A callable object's attributes are saved, a lambda is not.
    scale = Halving()
    with_object = terra.optim.lr_scheduler.CyclicLR(_optimizer(terra), 0.01, 0.1, scale_fn=scale)
    scale.base = 0.25
    assert with_object.state_dict()["_scale_fn_custom"] == {"base": 0.25}
    restored = terra.optim.lr_scheduler.CyclicLR(_optimizer(terra), 0.01, 0.1, scale_fn=Halving())
    restored.load_state_dict(with_object.state_dict())
    assert restored._scale_fn_custom.base == 0.25
    _, with_lambda = _sequence(terra, SCHEDULES[3], epochs=2)
    assert with_lambda.state_dict()["_scale_fn_custom"] is None


def test_cyclic_lr_errors():
    for lib in (torch, terra):
        with pytest.raises(ValueError, match="mode is invalid and scale_fn is None"):
            lib.optim.lr_scheduler.CyclicLR(_optimizer(lib), 0.01, 0.1, mode="sawtooth")
        with pytest.raises(ValueError, match="optimizer must support momentum"):
            lib.optim.lr_scheduler.CyclicLR(_optimizer(lib, "Adagrad"), 0.01, 0.1)
        with pytest.raises(ValueError, match="expected 2 values for base_lr, got 3"):
            lib.optim.lr_scheduler.CyclicLR(_optimizer(lib), [0.1] * 3, 0.1)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.optim.lr_scheduler.CyclicLR(_optimizer(lib, "Adagrad"), 0.01, 0.1, cycle_momentum=False)
