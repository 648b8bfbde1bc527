"""What training scripts call around their model, against PyTorch 1.13 on this CPU-only machine:
- GradScaler disables itself (PyTorch does so without CUDA; Terra always, having no float16), so
  training through it equals training without it;
- autocast with enabled=False is a no-op, and enabled warns (Terra has no reduced precision);
- anomaly detection raises at the node returning NaN, as PyTorch's; set_float32_matmul_precision is accepted;
- torch.jit.script/trace return what they are given, and torch.utils.checkpoint is a plain call
  with PyTorch's gradients;
- torch.distributed says it is not available.
And `from torch.cuda.amp import ...` resolves under `terra run --as-torch`."""
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


@pytest.mark.parametrize("lib", [torch, terra], ids=["torch", "terra"])
def test_anomaly_detection_names_the_node_that_returned_nan(lib):
    t = lib.tensor([0.0, 1.5, 2.0], requires_grad=True)
    (t / t).sum().backward()  # off: NaN gradients go through
    assert np.isnan(t.grad.numpy()[0]) and not lib.is_anomaly_enabled()
    t.grad = None
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        detector = lib.autograd.detect_anomaly()
    with detector:
        assert lib.is_anomaly_enabled()
        with pytest.raises(RuntimeError, match=r"Function 'DivBackward0' returned nan values in its 1th output"):
            (t / t).sum().backward()
        (t * 2).sum().backward()  # no NaN: goes through
    assert not lib.is_anomaly_enabled()
    np.testing.assert_array_equal(t.grad.numpy(), [2.0, 2.0, 2.0])
    with lib.autograd.set_detect_anomaly(True):
        assert lib.is_anomaly_enabled()
    assert not lib.is_anomaly_enabled()


def test_matmul_precision_is_accepted():
    assert terra.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
    terra.set_float32_matmul_precision("high")
    assert terra.get_float32_matmul_precision() == "high"
    terra.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError):
        terra.set_float32_matmul_precision("fast")


def test_jit_script_and_trace_return_what_they_are_given():
    model = terra.nn.Linear(3, 2)
    assert terra.jit.script(model) is model
    assert terra.jit.trace(model, terra.ones(1, 3)) is model

    @terra.jit.ignore
    def helper(x):
        return x + 1

    assert helper(1) == 2 and not terra.jit.is_scripting()


def test_distributed_says_it_is_not_available():
    assert (terra.distributed.is_available(), terra.distributed.is_initialized()) == (False, False)


def checkpointed_gradients(lib, sequential):
    rng = np.random.default_rng(8)
    layers = [lib.nn.Linear(4, 4) for _ in range(3)]
    with lib.no_grad():
        for layer in layers:
            layer.weight.copy_(lib.tensor(rng.standard_normal((4, 4)), dtype=lib.float32))
            layer.bias.copy_(lib.tensor(rng.standard_normal(4), dtype=lib.float32))
    block = lib.nn.Sequential(*layers, lib.nn.Tanh())
    x = lib.tensor(rng.standard_normal((5, 4)), dtype=lib.float32, requires_grad=True)
    import importlib
    checkpointing = importlib.import_module(lib.__name__ + ".utils.checkpoint")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch 1.13 warns when no input requires grad
        if sequential:
            out = checkpointing.checkpoint_sequential(block, 2, x)
        else:
            out = checkpointing.checkpoint(block, x)
    (out ** 2).sum().backward()
    return [x.grad.numpy()] + [layer.weight.grad.numpy() for layer in layers]


@pytest.mark.parametrize("sequential", [False, True], ids=["checkpoint", "checkpoint_sequential"])
def test_checkpointing_gives_pytorchs_gradients(sequential):
    for got, want in zip(checkpointed_gradients(terra, sequential), checkpointed_gradients(torch, sequential)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_script_importing_torch_cuda_amp_runs_under_as_torch(tmp_path):
    script = tmp_path / "amp_script.py"
    script.write_text(textwrap.dedent("""
        import warnings
        import torch
        from torch.cuda.amp import GradScaler, autocast
        from torch.utils.checkpoint import checkpoint
        warnings.simplefilter("ignore")
        use_amp = torch.cuda.is_available()
        model = torch.jit.script(torch.nn.Linear(3, 1))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        scaler = GradScaler(enabled=use_amp)
        for _ in range(3):
            with autocast(enabled=use_amp):
                loss = checkpoint(model, torch.ones(2, 3)).pow(2).mean()
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


def test_as_torch_reports_the_pytorch_release_terra_follows(tmp_path):
    """Scripts and libraries pick code paths by comparing torch.__version__ (with strings, tuples
    or packaging's Version): under --as-torch it is 1.13.0 with Terra's own version as the local
    label; plain `import terra` keeps Terra's version."""
    script = tmp_path / "versions.py"
    script.write_text(textwrap.dedent("""\
        import torch
        from packaging import version
        v = torch.__version__
        print(v == f"1.13.0+terra.{torch.version.__version__.split('+terra.')[1]}", v.split("+")[0])
        print(v >= "1.10", v >= (1, 13), v < (2, 0), v > "1.13.0", version.parse(v) >= version.parse("1.13"))
        print(torch.version.__version__ == v, torch.version.hip, isinstance(torch.version.cuda, (str, type(None))))
    """))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TERRA_DEVICE")}
    done = subprocess.run([str(CLI), "run", "--as-torch", str(script)], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "True 1.13.0\nTrue True True False True\nTrue None True\n"
    assert terra.__version__ == terra.version.__version__ and not terra.__version__.startswith("1.13")


def test_as_torch_reprs_name_torch_and_plain_terra_keeps_its_own(tmp_path):
    """Under --as-torch a script's printed shapes, dtypes and tensor types read as under PyTorch
    (bindings/terra/_public_name.py); `import terra` still prints terra.Size and terra.float32."""
    script = tmp_path / "names.py"
    script.write_text(textwrap.dedent("""\
        import pickle
        import torch
        x = torch.ones(2, 3)
        print(x.shape, x.dtype, str(torch.int64), x.type(), x.long().type(), torch.typename(x))
        print(x.double(), x.type("torch.DoubleTensor").dtype, torch.finfo(torch.float64).dtype)
        print(pickle.loads(pickle.dumps(torch.float64)), pickle.loads(pickle.dumps(x.shape)))
    """))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TERRA_DEVICE")}
    done = subprocess.run([str(CLI), "run", "--as-torch", str(script)], capture_output=True, text=True, env=env,
                          timeout=60)
    want = subprocess.run(["/usr/bin/python3", str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == want.stdout
    x = terra.ones(2, 3)
    assert (repr(x.shape), repr(x.dtype), str(terra.int64), x.type()) == (
        "terra.Size([2, 3])", "terra.float32", "terra.int64", "terra.FloatTensor")
    assert terra.finfo(terra.float64).dtype == "float64" and terra.iinfo(terra.int32).dtype == "int32"
