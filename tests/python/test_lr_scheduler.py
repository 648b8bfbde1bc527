"""terra.optim.lr_scheduler against torch.optim.lr_scheduler (PyTorch 1.13): the learning rates of
every parameter group over 30 epochs, ReduceLROnPlateau on a scripted metric, state_dict resume,
and the initial_lr/last_epoch protocol and warnings."""
import warnings

import numpy as np
import pytest

import terra
import torch

from parity import to_terra

EPOCHS = 30


def make_optimizer(lib, name='SGD'):
    """Two parameter groups with different learning rates."""
    conv = torch.tensor if lib is torch else to_terra
    a = conv(np.linspace(0.5, 1.5, 3).astype(np.float32))
    b = conv(np.linspace(-1.0, 1.0, 2).astype(np.float32))
    a.requires_grad_(True)
    b.requires_grad_(True)
    groups = [{'params': [a]}, {'params': [b], 'lr': 0.05}]
    if name == 'SGD':
        return getattr(lib.optim, name)(groups, lr=0.1, momentum=0.9)
    return getattr(lib.optim, name)(groups, lr=0.1)


def build(lib, opt, name, kw):
    S = lib.optim.lr_scheduler
    if name == 'SequentialLR':
        return S.SequentialLR(opt, [S.ConstantLR(opt, factor=0.5, total_iters=3), S.ExponentialLR(opt, 0.9)],
                              milestones=[6])
    if name == 'ChainedScheduler':
        return S.ChainedScheduler([S.ConstantLR(opt, factor=0.5, total_iters=4), S.ExponentialLR(opt, 0.95)])
    return getattr(S, name)(opt, **kw)


SCHEDULERS = [
    ('StepLR', dict(step_size=7, gamma=0.5)),
    ('MultiStepLR', dict(milestones=[5, 12, 12, 20], gamma=0.3)),
    ('ExponentialLR', dict(gamma=0.9)),
    ('CosineAnnealingLR', dict(T_max=10, eta_min=0.001)),
    ('CosineAnnealingLR', dict(T_max=7)),
    ('LambdaLR', dict(lr_lambda=[lambda e: 0.95 ** e, lambda e: 1.0 / (e + 1)])),
    ('LambdaLR', dict(lr_lambda=lambda e: 1.0 if e < 10 else 0.1)),
    ('MultiplicativeLR', dict(lr_lambda=lambda e: 0.97)),
    ('ConstantLR', dict(factor=0.5, total_iters=4)),
    ('LinearLR', dict(start_factor=0.25, total_iters=8)),
    ('PolynomialLR', dict(total_iters=12, power=2.0)),
    ('CosineAnnealingWarmRestarts', dict(T_0=5, T_mult=2, eta_min=0.01)),
    ('OneCycleLR', dict(max_lr=[0.5, 0.2], total_steps=EPOCHS + 1)),
    ('OneCycleLR', dict(max_lr=0.3, total_steps=EPOCHS + 1, anneal_strategy='linear', three_phase=True)),
    ('SequentialLR', dict()),
    ('ChainedScheduler', dict()),
]


def sched_id(case):
    name, kw = case
    return name + ''.join(f'-{k}={v}' for k, v in kw.items() if not callable(v) and k != 'lr_lambda')


def trajectory(lib, name, kw, opt_name='SGD', epochs=EPOCHS):
    opt = make_optimizer(lib, opt_name)
    sched = build(lib, opt, name, kw)
    lrs, momenta = [], []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for _ in range(epochs):
            lrs.append(list(sched.get_last_lr()))
            momenta.append([g.get('momentum', g.get('betas', (None,))[0]) for g in opt.param_groups])
            opt.step()
            sched.step()
    return lrs, momenta


@pytest.mark.parametrize('case', SCHEDULERS, ids=sched_id)
def test_lr_sequence_matches_torch(case):
    name, kw = case
    expected, e_mom = trajectory(torch, name, kw)
    actual, a_mom = trajectory(terra, name, kw)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=0)
    assert a_mom == e_mom
    assert len(set(map(tuple, actual))) > 1   # the schedule moved


def test_one_cycle_cycles_adam_beta1():
    expected, e_mom = trajectory(torch, 'OneCycleLR', dict(max_lr=0.3, total_steps=EPOCHS + 1), opt_name='Adam')
    actual, a_mom = trajectory(terra, 'OneCycleLR', dict(max_lr=0.3, total_steps=EPOCHS + 1), opt_name='Adam')
    np.testing.assert_allclose(actual, expected, rtol=1e-12)
    np.testing.assert_allclose(a_mom, e_mom, rtol=1e-12)


PLATEAU = [
    dict(),
    dict(mode='min', factor=0.5, patience=2, cooldown=1, min_lr=0.01),
    dict(mode='max', factor=0.3, patience=1, threshold=0.05, threshold_mode='abs', min_lr=[0.02, 0.001]),
    dict(mode='min', factor=0.9, patience=0, threshold=0.01, threshold_mode='rel', eps=1e-3),
    dict(mode='max', patience=3, threshold=0.01, cooldown=2),
]


@pytest.mark.parametrize('kw', PLATEAU, ids=[str(i) for i in range(len(PLATEAU))])
def test_reduce_lr_on_plateau_matches_torch(kw):
    rng = np.random.default_rng(0)
    metrics = list(1.0 / (1 + np.arange(EPOCHS)) + rng.uniform(-0.05, 0.05, EPOCHS))
    metrics[10:18] = [metrics[10]] * 8   # a plateau
    runs = []
    for lib in (torch, terra):
        opt = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        lrs = []
        for i, m in enumerate(metrics):
            opt.step()
            # a 0-dim tensor as metric on odd epochs, like a loss
            sched.step(lib.tensor(m) if i % 2 else m)
            lrs.append([g['lr'] for g in opt.param_groups])
        runs.append((lrs, sched.num_bad_epochs, sched.cooldown_counter, sched.best))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-12)
    assert runs[1][1:3] == runs[0][1:3]
    assert runs[1][3] == pytest.approx(runs[0][3], rel=1e-6)


def test_reduce_lr_on_plateau_errors_and_state():
    opt = make_optimizer(terra)
    S = terra.optim.lr_scheduler
    with pytest.raises(ValueError, match='Factor should be < 1.0'):
        S.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match='mode foo is unknown'):
        S.ReduceLROnPlateau(opt, mode='foo')
    with pytest.raises(ValueError, match='expected 2 min_lrs'):
        S.ReduceLROnPlateau(opt, min_lr=[0.1])
    sched = S.ReduceLROnPlateau(opt, patience=0)
    for m in (1.0, 2.0, 3.0):
        sched.step(m)
    sd = sched.state_dict()
    assert 'optimizer' not in sd and sd['num_bad_epochs'] == 0 and sd['last_epoch'] == 3
    fresh = S.ReduceLROnPlateau(make_optimizer(terra), patience=0)
    fresh.load_state_dict(sd)
    assert fresh.best == 1.0 and fresh.last_epoch == 3


@pytest.mark.parametrize('case', [SCHEDULERS[i] for i in (0, 3, 6, 11, 12, 14)], ids=sched_id)
def test_state_dict_resume(case):
    """15 epochs, save optimizer and scheduler, rebuild both, load, 15 more: the uninterrupted
    sequence."""
    name, kw = case
    expected, _ = trajectory(terra, name, kw)
    opt = make_optimizer(terra)
    sched = build(terra, opt, name, kw)
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for _ in range(15):
            lrs.append(list(sched.get_last_lr()))
            opt.step()
            sched.step()
        opt_sd, sched_sd = opt.state_dict(), sched.state_dict()
        assert 'optimizer' not in sched_sd
        opt2 = make_optimizer(terra)
        sched2 = build(terra, opt2, name, kw)
        opt2.load_state_dict(opt_sd)
        sched2.load_state_dict(sched_sd)
        for _ in range(15):
            lrs.append(list(sched2.get_last_lr()))
            opt2.step()
            sched2.step()
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)


def test_initial_lr_and_last_epoch():
    S = terra.optim.lr_scheduler
    opt = make_optimizer(terra)
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups\\[0\\]"):
        S.StepLR(opt, step_size=3, last_epoch=4)
    sched = S.StepLR(opt, step_size=3, gamma=0.5)
    assert [g['initial_lr'] for g in opt.param_groups] == [0.1, 0.05]
    assert sched.last_epoch == 0 and sched.base_lrs == [0.1, 0.05]
    # Resuming at epoch 5: the chainable form continues from the groups' current lr.
    t_opt = make_optimizer(torch)
    torch.optim.lr_scheduler.StepLR(t_opt, step_size=3, gamma=0.5)
    t_sched = torch.optim.lr_scheduler.StepLR(t_opt, step_size=3, gamma=0.5, last_epoch=5)
    resumed = S.StepLR(opt, step_size=3, gamma=0.5, last_epoch=5)
    assert resumed.last_epoch == t_sched.last_epoch == 6
    assert resumed.get_last_lr() == t_sched.get_last_lr()
    assert S._LRScheduler is S.LRScheduler
    assert isinstance(resumed, S._LRScheduler)
    with pytest.raises(TypeError, match='is not an Optimizer'):
        S.StepLR(object(), step_size=3)


def test_closed_form_with_epoch_argument():
    runs = []
    for lib in (torch, terra):
        opt = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.MultiStepLR(opt, milestones=[3, 6], gamma=0.1)
        with pytest.warns(UserWarning, match='epoch parameter'):
            sched.step(7)
        runs.append(sched.get_last_lr())
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-12)


def test_warns_when_stepped_before_optimizer():
    opt = make_optimizer(terra)
    sched = terra.optim.lr_scheduler.StepLR(opt, step_size=3)
    with pytest.warns(UserWarning, match='before `optimizer.step\\(\\)`'):
        sched.step()
    opt2 = make_optimizer(terra)
    sched2 = terra.optim.lr_scheduler.StepLR(opt2, step_size=3)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        opt2.step()
        sched2.step()
        sched2.get_last_lr()
    with pytest.warns(UserWarning, match='get_last_lr'):
        sched2.get_lr()
