"""terra.save / terra.load against real PyTorch 1.13 (Debian's python3-torch): each reads the other's
checkpoint files (the zip format), with dtypes, shared storages, strides, Parameters, optimizer
states, map_location and the error paths. `torch` here is the real one, `terra` is Terra."""
import collections
import fractions
import io
import os
import pickle
import subprocess
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import terra

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[2]


def torch_bytes(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def terra_bytes(obj):
    buf = io.BytesIO()
    terra.save(obj, buf)
    return buf.getvalue()


def load_quietly(data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return terra.load(io.BytesIO(data), **kw)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32) + 0.5


# ---- PyTorch -> Terra --------------------------------------------------------------------------

def test_torch_state_dict_loads_into_a_terra_model(tmp_path):
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.BatchNorm1d(5), torch.nn.Linear(5, 2))
    tmodel.train()
    tmodel(torch.randn(8, 4))  # running stats, num_batches_tracked
    torch.save(tmodel.state_dict(), tmp_path / "model.pt")
    state = terra.load(tmp_path / "model.pt")
    assert isinstance(state, collections.OrderedDict) and list(state) == list(tmodel.state_dict())
    for name, value in tmodel.state_dict().items():
        np.testing.assert_array_equal(state[name].numpy(), value.numpy())
    assert state["2.num_batches_tracked"].dtype is terra.int64
    model = terra.nn.Sequential(terra.nn.Linear(4, 5), terra.nn.ReLU(), terra.nn.BatchNorm1d(5), terra.nn.Linear(5, 2))
    model.load_state_dict(state)
    model.eval(), tmodel.eval()
    x = rand(3, 4)
    np.testing.assert_allclose(model(terra.tensor(x)).detach().numpy(), tmodel(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)


def test_nested_containers_and_python_values():
    obj = {"epoch": 7, "loss": 0.25, "name": "run-1", "none": None, "flag": True,
           "list": [torch.tensor([1.5, -2.0]), (3, "x")], "nested": {"t": torch.arange(6).reshape(2, 3)},
           "dtype": torch.float64, "device": torch.device("cpu"), "size": torch.Size([2, 3])}
    got = terra.load(torch_bytes(obj))
    assert {k: got[k] for k in ("epoch", "loss", "name", "none", "flag")} == \
        {"epoch": 7, "loss": 0.25, "name": "run-1", "none": None, "flag": True}
    np.testing.assert_array_equal(got["list"][0].numpy(), [1.5, -2.0])
    assert got["list"][1] == (3, "x")
    np.testing.assert_array_equal(got["nested"]["t"].numpy(), np.arange(6).reshape(2, 3))
    assert got["dtype"] is terra.float64 and got["device"] == terra.device("cpu")
    assert got["size"] == terra.Size([2, 3])


TERRA_DTYPES = ["float32", "float64", "int64", "int32", "bool"]
WIDENED = {"float16": "float32", "bfloat16": "float32", "uint8": "int32", "int8": "int32", "int16": "int32"}


def torch_values(dtype_name, n=7):
    dtype = getattr(torch, dtype_name)
    if dtype_name == "bool":
        return torch.tensor([True, False, True, True, False, False, True])
    if dtype.is_floating_point:
        return torch.tensor(rand(n)).to(dtype)
    info = torch.iinfo(dtype)
    return torch.tensor(np.random.default_rng(1).integers(max(info.min, -1000), min(info.max, 1000), n) | 1).to(dtype)


@pytest.mark.parametrize("dtype_name", TERRA_DTYPES + list(WIDENED))
def test_every_dtype_loads(dtype_name):
    t = torch_values(dtype_name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = terra.load(torch_bytes({"a": t, "b": t[2:]}))
    expected = t.float() if dtype_name == "bfloat16" else t
    np.testing.assert_array_equal(got["a"].numpy(), expected.numpy().astype(got["a"].numpy().dtype))
    assert str(got["a"].dtype).endswith(WIDENED.get(dtype_name, dtype_name))
    widened = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    if dtype_name in WIDENED:
        assert len(widened) == 1 and f"{dtype_name} as {WIDENED[dtype_name]}" in widened[0]
        assert caught[0].filename == __file__  # the user's call
    else:
        assert widened == []


def test_one_warning_names_every_widened_dtype():
    obj = {name: torch_values(name) for name in WIDENED}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        terra.load(torch_bytes(obj))
    assert len(caught) == 1
    for name, wide in WIDENED.items():
        assert f"{name} as {wide}" in str(caught[0].message)


def test_views_and_tied_weights_share_memory_after_loading():
    base = torch.tensor(rand(4, 6))
    linear = torch.nn.Linear(6, 4)
    tied = {"weight": linear.weight, "decoder": linear.weight, "same_storage": linear.weight.detach()[1:]}
    obj = {"base": base, "row": base[1], "col": base[:, 2], "t": base.t(), "tied": tied}
    got = terra.load(torch_bytes(obj))
    got["base"][1, 2] = 123.0
    assert got["row"][2].item() == 123.0 and got["col"][1].item() == 123.0 and got["t"][2, 1].item() == 123.0
    assert got["tied"]["weight"] is got["tied"]["decoder"]
    with terra.no_grad():
        got["tied"]["weight"][2, 0] = -5.0
    assert got["tied"]["same_storage"][1, 0].item() == -5.0


def test_strides_offsets_parameters_and_requires_grad():
    base = torch.tensor(rand(5, 6))
    obj = {"t": base.t(), "step": base[1::2, ::3], "offset": base[3:], "scalar": torch.tensor(2.5),
           "empty": torch.empty(0, 3), "param": torch.nn.Parameter(torch.tensor(rand(3))),
           "frozen": torch.nn.Parameter(torch.tensor(rand(2)), requires_grad=False),
           "leaf": torch.tensor(rand(2)).requires_grad_()}
    got = terra.load(torch_bytes(obj))
    for name in ("t", "step", "offset", "scalar", "empty"):
        assert got[name].stride() == obj[name].stride(), name
        assert got[name].storage_offset() == obj[name].storage_offset(), name
        assert tuple(got[name].shape) == tuple(obj[name].shape), name
        np.testing.assert_array_equal(got[name].numpy(), obj[name].numpy())
    assert got["scalar"].dim() == 0 and got["empty"].numel() == 0
    assert isinstance(got["param"], terra.nn.Parameter) and got["param"].requires_grad
    assert isinstance(got["frozen"], terra.nn.Parameter) and not got["frozen"].requires_grad
    assert type(got["leaf"]) is terra.Tensor and got["leaf"].requires_grad and got["leaf"].is_leaf
    assert not got["t"].requires_grad


def test_whole_module_pickle_loads_as_terra_module():
    torch.manual_seed(1)
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Hardshrink(0.1))
    model = terra.load(torch_bytes(tmodel))
    assert isinstance(model, terra.nn.Sequential) and isinstance(model[0], terra.nn.Linear)
    x = rand(2, 3)
    np.testing.assert_allclose(model(terra.tensor(x)).detach().numpy(), tmodel(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6)
    back = torch.load(io.BytesIO(terra_bytes(model)))
    assert isinstance(back, torch.nn.Sequential) and isinstance(back[2], torch.nn.Hardshrink)
    np.testing.assert_allclose(back(torch.tensor(x)).detach().numpy(), tmodel(torch.tensor(x)).detach().numpy())


def test_file_objects_bytes_and_paths(tmp_path):
    data = torch_bytes({"x": torch.tensor([1.0, 2.0])})
    path = tmp_path / "x.pt"
    path.write_bytes(data)
    for source in (data, io.BytesIO(data), str(path), path):
        np.testing.assert_array_equal(terra.load(source)["x"].numpy(), [1.0, 2.0])
    with open(path, "rb") as fh:
        np.testing.assert_array_equal(terra.load(fh)["x"].numpy(), [1.0, 2.0])


# ---- Terra -> PyTorch --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype_name", TERRA_DTYPES)
def test_torch_reads_every_terra_dtype(dtype_name):
    t = terra.tensor(torch_values(dtype_name).numpy())
    got = torch.load(io.BytesIO(terra_bytes({"a": t, "b": t[1:]})))
    assert got["a"].dtype is getattr(torch, dtype_name)
    np.testing.assert_array_equal(got["a"].numpy(), t.numpy())
    np.testing.assert_array_equal(got["b"].numpy(), t.numpy()[1:])


def test_torch_reads_shared_storages_strides_and_parameters(tmp_path):
    base = terra.tensor(rand(4, 6))
    param = terra.nn.Parameter(terra.tensor(rand(3, 2)))
    obj = {"base": base, "t": base.t(), "cols": base[1:, ::2], "scalar": terra.tensor(1.25),
           "empty": terra.empty(0, 2), "param": param, "again": param, "param_view": param.detach()[1:],
           "frozen": terra.nn.Parameter(terra.tensor(rand(2)), requires_grad=False),
           "meta": [1, "two", 3.0, {"dtype": terra.float32}]}
    terra.save(obj, tmp_path / "t.pt")
    with zipfile.ZipFile(tmp_path / "t.pt") as archive:  # one record per storage, 64-byte aligned
        records = [i for i in archive.infolist() if "/data/" in i.filename]
        assert len(records) == 5
        for info in records:
            assert (info.header_offset + 30 + len(info.filename) + len(info.extra)) % 64 == 0
    got = torch.load(tmp_path / "t.pt")
    for name in ("base", "t", "cols", "scalar", "empty"):
        np.testing.assert_array_equal(got[name].numpy(), obj[name].numpy())
        assert got[name].stride() == obj[name].stride() and got[name].storage_offset() == obj[name].storage_offset()
    got["base"][2, 4] = 99.0
    assert got["t"][4, 2].item() == 99.0 and got["cols"][1, 2].item() == 99.0
    assert isinstance(got["param"], torch.nn.Parameter) and got["param"] is got["again"]
    with torch.no_grad():
        got["param"][2, 1] = -1.0
    assert got["param_view"][1, 1].item() == -1.0
    assert not got["frozen"].requires_grad and got["param"].requires_grad
    assert got["meta"] == [1, "two", 3.0, {"dtype": torch.float32}]


def test_terra_round_trip_and_save_to_bytesio():
    obj = {"w": terra.nn.Parameter(terra.tensor(rand(2, 3))), "i": terra.tensor([1, 2], dtype=terra.int32)}
    buf = io.BytesIO()
    terra.save(obj, buf)
    buf.seek(0)
    got = terra.load(buf)
    assert isinstance(got["w"], terra.nn.Parameter) and got["i"].dtype is terra.int32
    np.testing.assert_array_equal(got["w"].detach().numpy(), obj["w"].detach().numpy())


# ---- optimizer states --------------------------------------------------------------------------

def _data(step):
    rng = np.random.default_rng(100 + step)
    return rng.standard_normal((8, 4)).astype(np.float32), rng.standard_normal((8, 2)).astype(np.float32)


def _train(lib, model, opt, steps):
    """A few steps of regression in `lib` (torch or terra) on the same data."""
    for step in steps:
        x, y = _data(step)
        opt.zero_grad()
        lib.nn.functional.mse_loss(model(lib.tensor(x)), lib.tensor(y)).backward()
        opt.step()


@pytest.mark.parametrize("kind", ["adam", "sgd_momentum"])
def test_optimizer_state_continues_in_terra(kind):
    torch.manual_seed(3)
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2))
    make = {"adam": lambda m, lib: lib.optim.Adam(m.parameters(), lr=0.01),
            "sgd_momentum": lambda m, lib: lib.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)}[kind]
    topt = make(tmodel, torch)
    _train(torch, tmodel, topt, range(3))
    checkpoint = terra.load(torch_bytes({"model": tmodel.state_dict(), "optim": topt.state_dict()}))
    if kind == "adam":
        assert isinstance(checkpoint["optim"]["state"][0]["step"], terra.Tensor)
    model = terra.nn.Sequential(terra.nn.Linear(4, 6), terra.nn.Tanh(), terra.nn.Linear(6, 2))
    model.load_state_dict(checkpoint["model"])
    opt = make(model, terra)
    opt.load_state_dict(checkpoint["optim"])
    _train(torch, tmodel, topt, range(3, 6))
    _train(terra, model, opt, range(3, 6))
    for ours, theirs in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-6)
    # and back: Terra's optimizer state continues in PyTorch
    back = torch.load(io.BytesIO(terra_bytes({"model": model.state_dict(), "optim": opt.state_dict()})))
    tmodel.load_state_dict(back["model"])
    topt.load_state_dict(back["optim"])
    _train(torch, tmodel, topt, range(6, 8))
    _train(terra, model, opt, range(6, 8))
    for ours, theirs in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-6)


# ---- map_location ------------------------------------------------------------------------------

def rewrite_pickle(checkpoint, old, new):
    """The checkpoint with `old` replaced by `new` in its data.pkl (the zip rewritten)."""
    src = zipfile.ZipFile(io.BytesIO(checkpoint))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name.endswith("data.pkl"):
                assert old in data
                data = data.replace(old, new)
            dst.writestr(name, data)
    return out.getvalue()


def cuda_checkpoint():
    """A checkpoint whose storages are tagged "cuda:0", as a GPU machine writes it: PyTorch's CPU
    file with the location rewritten in data.pkl."""
    return rewrite_pickle(torch_bytes({"w": torch.tensor(rand(2, 2)), "b": torch.tensor([1, 2])}),
                          b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")


needs_no_cuda = pytest.mark.skipif(terra.cuda.is_available() or torch.cuda.is_available(),
                                   reason="checks the CPU-only machine's behaviour")


@needs_no_cuda
def test_cuda_checkpoint_needs_map_location_on_a_cpu_machine():
    data = cuda_checkpoint()
    with pytest.raises(RuntimeError, match="deserialize object on a CUDA device") as theirs:
        torch.load(io.BytesIO(data))
    with pytest.raises(RuntimeError, match="deserialize object on a CUDA device") as ours:
        terra.load(data)
    assert "map_location" in str(ours.value) and "is_available() is False" in str(ours.value)
    assert str(theirs.value).replace("torch", "terra") == str(ours.value)
    with pytest.raises(RuntimeError, match="CUDA device"):
        terra.load(data, map_location=lambda storage, loc: None)  # None: the default placement


@needs_no_cuda
@pytest.mark.parametrize("map_location", ["cpu", terra.device("cpu"), {"cuda:0": "cpu"},
                                          lambda storage, location: storage,
                                          lambda storage, location: storage.cpu()])
def test_cuda_checkpoint_with_map_location(map_location):
    got = terra.load(cuda_checkpoint(), map_location=map_location)
    expected = torch.load(io.BytesIO(cuda_checkpoint()), map_location="cpu")
    assert got["w"].device == terra.device("cpu")
    np.testing.assert_array_equal(got["w"].numpy(), expected["w"].numpy())
    np.testing.assert_array_equal(got["b"].numpy(), [1, 2])


def test_map_location_callable_sees_the_location():
    seen = []
    terra.load(torch_bytes({"x": torch.ones(2)}), map_location=lambda s, loc: seen.append((s.nbytes(), loc)))
    assert seen == [(8, "cpu")]


def test_unknown_location_is_refused():
    with pytest.raises(RuntimeError, match=r"don't know how to restore data location .*tagged with mps"):
        terra.load(torch_bytes({"x": torch.ones(2)}), map_location="mps")


# ---- errors ------------------------------------------------------------------------------------

def test_corrupt_checkpoint(tmp_path):
    data = torch_bytes({"x": torch.tensor(rand(64))})
    with pytest.raises(RuntimeError, match="not a valid PyTorch checkpoint"):
        terra.load(data[:len(data) // 2])
    flipped = bytearray(data)
    flipped[data.index(b"archive/data.pkl") + 40] ^= 0xFF  # inside data.pkl: its CRC no longer matches
    with pytest.raises(RuntimeError, match="record data.pkl is missing or damaged"):
        terra.load(bytes(flipped))
    with pytest.raises((pickle.UnpicklingError, EOFError)):
        terra.load(b"\x80\x02not a pickle")


def test_zip_that_is_not_a_checkpoint():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("notes/readme.txt", "hello")
    with pytest.raises(RuntimeError, match="without data.pkl"):
        terra.load(buf.getvalue())


def test_torchscript_archive_is_refused_clearly():
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), buf)
    with pytest.raises(RuntimeError, match="TorchScript"):
        terra.load(buf.getvalue())


def test_weights_only():
    state = {"w": torch.nn.Parameter(torch.tensor(rand(2))), "n": collections.OrderedDict(a=torch.ones(1)),
             "half": torch.ones(2, dtype=torch.float16), "step": 3}
    got = load_quietly(torch_bytes(state), weights_only=True)
    assert isinstance(got["w"], terra.nn.Parameter) and got["step"] == 3
    bad = torch_bytes({"x": fractions.Fraction(1, 3)})
    with pytest.raises(pickle.UnpicklingError, match="Unsupported class fractions.Fraction") as ours:
        terra.load(bad, weights_only=True)
    with pytest.raises(pickle.UnpicklingError, match="Unsupported class fractions.Fraction"):
        torch.load(io.BytesIO(bad), weights_only=True)
    assert str(ours.value).startswith("Weights only load failed")
    assert terra.load(bad)["x"] == fractions.Fraction(1, 3)  # weights_only=False allows any global
    with pytest.raises(RuntimeError, match="pickle_module"):
        terra.load(bad, weights_only=True, pickle_module=pickle)


def test_dtype_terra_cannot_hold():
    with pytest.raises(RuntimeError, match="no complex64 dtype"):
        terra.load(torch_bytes({"z": torch.ones(2, dtype=torch.complex64)}))


def test_missing_torch_global_is_named():
    data = rewrite_pickle(torch_bytes({"x": torch.nn.Linear(1, 1)}), b"torch.nn.modules.linear",
                          b"torch.nn.modules.nosuch")
    with pytest.raises(pickle.UnpicklingError, match="torch.nn.modules.nosuch.Linear, which Terra does not have"):
        terra.load(data)


def test_legacy_formats():
    with pytest.raises(NotImplementedError, match="legacy format"):
        terra.load(torch_bytes({"x": torch.ones(2)}, _use_new_zipfile_serialization=False))
    with pytest.raises(NotImplementedError, match="zip format"):
        terra.save({"x": terra.ones(2)}, io.BytesIO(), _use_new_zipfile_serialization=False)


def test_files_of_earlier_terra_versions_still_load(tmp_path):
    """Earlier Terra versions pickled tensors through Tensor.__reduce_ex__ (numpy arrays)."""
    obj = {"t": terra.tensor(rand(2, 3)), "p": terra.nn.Parameter(terra.tensor(rand(2))), "n": 4}
    path = tmp_path / "old.pt"
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=2)
    got = terra.load(path)
    np.testing.assert_array_equal(got["t"].numpy(), obj["t"].numpy())
    assert isinstance(got["p"], terra.nn.Parameter) and got["n"] == 4


# ---- terra run --as-torch ----------------------------------------------------------------------

def test_as_torch_script_loads_a_pytorch_checkpoint(tmp_path):
    cli = Path(os.environ.get("TERRA_CLI", REPO / "build" / "tools" / "terra"))
    if not cli.is_file():
        pytest.skip(f"no terra executable at {cli}")
    torch.save({"w": torch.tensor([[1.5, -2.0], [0.25, 4.0]]).t(), "h": torch.tensor([1.0], dtype=torch.float16)},
               tmp_path / "ckpt.pt")
    script = tmp_path / "use.py"
    script.write_text("import warnings, torch\n"
                      "warnings.simplefilter('ignore')\n"
                      "state = torch.load('ckpt.pt', map_location='cpu')\n"
                      "print(torch.__name__, state['w'].tolist(), state['w'].stride(), state['h'].dtype)\n"
                      "torch.save(state, 'again.pt')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("TERRA_DEVICE",)}
    env["PYTHONPATH"] = str(REPO / "build" / "bindings")
    got = subprocess.run([str(cli), "run", "--as-torch", str(script)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    assert got.stdout == "terra [[1.5, 0.25], [-2.0, 4.0]] (1, 2) torch.float32\n"
    again = torch.load(tmp_path / "again.pt")
    assert again["w"].tolist() == [[1.5, 0.25], [-2.0, 4.0]] and again["h"].dtype is torch.float32
