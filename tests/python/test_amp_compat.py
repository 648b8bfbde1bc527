"""The mixed-precision and debugging switches training scripts set, against PyTorch 1.13 on this
CPU-only machine: GradScaler disables itself (PyTorch does so without CUDA; Terra always, having
no float16), so training through it equals training without it; autocast with enabled=False is a
no-op and enabled warns (Terra has no reduced precision); anomaly detection and
set_float32_matmul_precision are accepted. And `from torch.cuda.amp import ...` resolves under
`terra run --as-torch`."""
import os
import subprocess
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import terra

REPO = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("TERRA_CLI", REPO / "build" / "tools" / "terra"))


def train(lib, scaler_cls, steps=6):
    lib.manual_seed(0)
    rng = np.random.default_rng(5)
    model = lib.nn.Linear(4, 2)
    with lib.no_grad():
        model.weight.copy_(lib.tensor(rng.standard_normal((2, 4)), dtype=lib.float32))
        model.bias.zero_()
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    scaler = scaler_cls(enabled=True) if scaler_cls else None
    losses = []
    for _ in range(steps):
        x = lib.tensor(rng.standard_normal((8, 4)), dtype=lib.float32)
        with lib.cuda.amp.autocast(enabled=False):
            loss = (model(x) ** 2).mean()
        opt.zero_grad()
        if scaler:
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        losses.append(loss.item())
    return losses, model.weight.detach().numpy().copy(), scaler


@pytest.mark.parametrize("lib", [terra, torch], ids=["terra", "torch"])
def test_grad_scaler_without_reduced_precision_is_disabled_and_changes_nothing(lib):
    with pytest.warns(UserWarning, match="Disabling"):
        scaled_losses, scaled_weight, scaler = train(lib, lib.cuda.amp.GradScaler)
    plain_losses, plain_weight, _ = train(lib, None)
    assert scaled_losses == plain_losses
    np.testing.assert_array_equal(scaled_weight, plain_weight)
    assert (scaler.get_scale(), scaler.is_enabled(), scaler.state_dict()) == (1.0, False, {})


def test_terra_and_torch_train_alike_through_the_scaler():
    with pytest.warns(UserWarning):
        got, got_weight, _ = train(terra, terra.cuda.amp.GradScaler)
    with pytest.warns(UserWarning):
        want, want_weight, _ = train(torch, torch.cuda.amp.GradScaler)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(got_weight, want_weight, rtol=1e-5)


def test_autocast_disabled_is_silent_and_enabled_warns():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with terra.autocast("cuda", enabled=False), terra.cpu.amp.autocast(enabled=False):
            y = terra.ones(2) * 2

        @terra.cuda.amp.autocast(enabled=False)
        def double(t):
            return t * 2

        assert double(y).tolist() == [4.0, 4.0]
    with pytest.warns(UserWarning, match="full precision"):
        with terra.autocast("cpu", dtype=terra.float32):
            assert (terra.ones(2) + 1).dtype == terra.float32
    with pytest.raises(ValueError):
        terra.autocast(0)


def test_anomaly_detection_and_matmul_precision_are_accepted():
    terra.autograd.set_detect_anomaly(False)
    assert terra.autograd.is_anomaly_enabled() is False
    with pytest.warns(UserWarning, match="not implemented"):
        terra.autograd.set_detect_anomaly(True)
    with pytest.warns(UserWarning, match="not implemented"):
        with terra.autograd.detect_anomaly():
            pass
    assert terra.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
    terra.set_float32_matmul_precision("high")
    assert terra.get_float32_matmul_precision() == "high"
    terra.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError):
        terra.set_float32_matmul_precision("fast")


def test_a_script_importing_torch_cuda_amp_runs_under_as_torch(tmp_path):
    script = tmp_path / "amp_script.py"
    script.write_text(textwrap.dedent("""
        import warnings
        import torch
        from torch.cuda.amp import GradScaler, autocast
        warnings.simplefilter("ignore")
        use_amp = torch.cuda.is_available()
        model = torch.nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        scaler = GradScaler(enabled=use_amp)
        for _ in range(3):
            with autocast(enabled=use_amp):
                loss = model(torch.ones(2, 3)).pow(2).mean()
            opt.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        print(type(scaler).__module__.split(".")[0], scaler.get_scale())
    """))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TERRA_DEVICE")}
    done = subprocess.run([str(CLI), "run", "--as-torch", str(script)], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "terra 1.0\n"
