"""optim.swa_utils (bindings/terra/optim/swa_utils.py) against PyTorch 1.13: AveragedModel's
running average and a custom EMA avg_fn over a training run, SWALR's learning rates, update_bn's
recomputed BatchNorm statistics, and `from torch.optim.swa_utils import ...` under --as-torch."""
import numpy as np
import pytest

import terra

torch = pytest.importorskip("torch")


def _model(lib):
    rng = np.random.default_rng(0)
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.ReLU(), lib.nn.Linear(4, 1))
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)), dtype=lib.float32))
    return model


def _run(lib, avg_fn):
    swa_utils = __import__(lib.__name__ + ".optim.swa_utils", fromlist=["AveragedModel"])
    rng = np.random.default_rng(1)
    model = _model(lib)
    averaged = swa_utils.AveragedModel(model, avg_fn=avg_fn)
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    sched = swa_utils.SWALR(opt, swa_lr=0.02, anneal_epochs=3, anneal_strategy="cos")
    batches = [lib.tensor(rng.standard_normal((8, 3)), dtype=lib.float32) for _ in range(6)]
    lrs = []
    for x in batches:
        loss = (model(x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        averaged.update_parameters(model)
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    swa_utils.update_bn(batches, averaged)
    bn = averaged.module[1]
    out = averaged(batches[0]).detach().numpy()
    params = [p.detach().numpy().copy() for p in averaged.parameters()]
    return lrs, int(averaged.n_averaged), params, bn.running_mean.numpy(), bn.running_var.numpy(), out


@pytest.mark.parametrize("ema", [False, True], ids=["swa", "ema"])
def test_averaged_model_swalr_and_update_bn_match_pytorch(ema):
    avg_fn = (lambda avg, new, n: 0.8 * avg + 0.2 * new) if ema else None
    got, want = _run(terra, avg_fn), _run(torch, avg_fn)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    assert got[1] == want[1] == 6
    for g, w in zip(got[2:], want[2:]):
        for a, b in zip(g if isinstance(g, list) else [g], w if isinstance(w, list) else [w]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_swalr_rejects_bad_arguments():
    opt = terra.optim.SGD([terra.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        terra.optim.swa_utils.SWALR(opt, 0.01, anneal_strategy="step")
    with pytest.raises(ValueError, match="anneal_epochs"):
        terra.optim.swa_utils.SWALR(opt, 0.01, anneal_epochs=-1)
    with pytest.raises(ValueError, match="same length"):
        terra.optim.swa_utils.SWALR(opt, [0.01, 0.02])
