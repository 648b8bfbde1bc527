"""nn.DataParallel, SyncBatchNorm, the deprecated layers (NLLLoss2d, Container, CrossMapLRN2d),
F.conv_tbc and PyTorch 1.13's torch.nn.modules.<file> import paths, against PyTorch 1.13:
values and gradients of inputs and parameters, state_dict keys, and the errors."""
import importlib
import inspect
import pkgutil
import warnings

import numpy as np
import pytest
import torch
import torch.nn.modules as torch_modules

import terra
import terra.nn as nn
import terra.nn.functional as F
from nn_parity import assert_same_error, check_function, check_module, rand
from parity import copy_state, to_terra

RNG = np.random.default_rng(1234)


# ---- torch.nn.modules.<file> paths ---------------------------------------------------------

def _public_classes(torch_file):
    mod = importlib.import_module(f"torch.nn.modules.{torch_file}")
    return [name for name, value in vars(mod).items()
            if inspect.isclass(value) and value.__module__ == mod.__name__
            and not name.startswith("_")]


TORCH_FILES = [info.name for info in pkgutil.iter_modules(torch_modules.__path__)
               if not info.name.startswith("_")]


@pytest.mark.parametrize("torch_file", TORCH_FILES)
def test_torch_module_paths_resolve(torch_file):
    terra_file = importlib.import_module(f"terra.nn.modules.{torch_file}")
    for name in _public_classes(torch_file):
        cls = getattr(terra_file, name, None)
        assert cls is not None, f"terra.nn.modules.{torch_file} lacks {name}"
        if hasattr(nn, name):
            assert cls is getattr(nn, name)


def test_paths_scripts_use():
    from terra.nn.modules.batchnorm import _BatchNorm, SyncBatchNorm
    from terra.nn.modules.conv import Conv3d
    from terra.nn.modules.loss import _Loss, _WeightedLoss, NLLLoss2d
    from terra.nn.modules.module import Module
    from terra.nn.modules.pooling import MaxPool3d, FractionalMaxPool2d
    from terra.nn.parallel import DataParallel, DistributedDataParallel, data_parallel
    from terra.nn.parallel.data_parallel import DataParallel as DataParallel2
    assert issubclass(SyncBatchNorm, _BatchNorm) and issubclass(NLLLoss2d, _WeightedLoss)
    assert issubclass(_Loss, Module) and Conv3d is nn.Conv3d and MaxPool3d is nn.MaxPool3d
    assert FractionalMaxPool2d is nn.FractionalMaxPool2d
    assert DataParallel is DataParallel2 is nn.DataParallel
    assert callable(data_parallel) and issubclass(DistributedDataParallel, Module)


# ---- DataParallel ---------------------------------------------------------------------------

def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(5, 4), lib.nn.Tanh(), lib.nn.Linear(4, 3))


@pytest.mark.parametrize("device_ids", [None, [0], [0, 1]])
def test_data_parallel_matches_torch(device_ids):
    tm, xm = check_module(lambda: torch.nn.DataParallel(_mlp(torch), device_ids),
                          lambda: nn.DataParallel(_mlp(terra), device_ids),
                          [rand(RNG, 6, 5, dtype="float64")], "float64")
    assert list(xm.state_dict()) == list(tm.state_dict())
    assert list(xm.state_dict())[0] == "module.0.weight"
    assert isinstance(xm.module, nn.Sequential) and xm.device_ids == tm.device_ids == []


def test_data_parallel_passes_kwargs_and_loads_checkpoints():
    class Scale(torch.nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    class XScale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    x = rand(RNG, 3, 2, dtype="float64")
    out = nn.DataParallel(XScale())(terra.tensor(x), factor=3.0)
    np.testing.assert_array_equal(out.numpy(), x * 3.0)
    # A checkpoint of a wrapped torch model loads into the wrapped terra model and back.
    t_wrapped = torch.nn.DataParallel(_mlp(torch).double())
    x_wrapped = nn.DataParallel(_mlp(terra).double())
    copy_state(t_wrapped, x_wrapped)
    inner = _mlp(terra).double()
    inner.load_state_dict({k[len("module."):]: v for k, v in x_wrapped.state_dict().items()})
    xin = terra.tensor(x.repeat(3, axis=1)[:, :5])
    np.testing.assert_array_equal(inner(xin).detach().numpy(),
                                  x_wrapped(xin).detach().numpy())
    out = nn.parallel.data_parallel(XScale(), terra.tensor(x), module_kwargs={"factor": 2.0})
    np.testing.assert_array_equal(out.numpy(), x * 2.0)


def test_data_parallel_device_checks():
    from torch._utils import _get_device_index
    from terra.nn.parallel.data_parallel import _device_index
    assert_same_error(lambda: _get_device_index("cpu", True), lambda: _device_index("cpu"),
                      same_message=True)
    assert _device_index("cuda:1") == 1 and _device_index(2) == 2


def test_distributed_data_parallel_needs_a_process_group():
    assert_same_error(lambda: torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 2)),
                      lambda: nn.parallel.DistributedDataParallel(nn.Linear(2, 2)))


# ---- SyncBatchNorm --------------------------------------------------------------------------

SHAPES = [(6, 3), (4, 3, 5), (3, 3, 4, 5), (2, 3, 3, 2, 4)]
TORCH_BN = {2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm1d, 4: torch.nn.BatchNorm2d,
            5: torch.nn.BatchNorm3d}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_sync_batchnorm_eval_matches_torch(shape, affine):
    # PyTorch 1.13's SyncBatchNorm refuses CPU inputs; on one device it is BatchNorm.
    def make_torch():
        m = TORCH_BN[len(shape)](3, affine=affine)
        m.running_mean.uniform_(-1, 1)
        m.running_var.uniform_(0.5, 2)
        return m
    check_module(make_torch, lambda: nn.SyncBatchNorm(3, affine=affine),
                 [rand(RNG, *shape, dtype="float64")], "float64", train=False)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_sync_batchnorm_trains_as_batchnorm(shape, momentum):
    # PyTorch's SyncBatchNorm needs a GPU and a process group to train; in one process it is
    # BatchNorm (same parameters, buffers and update).
    tm, xm = check_module(lambda: TORCH_BN[len(shape)](3, momentum=momentum),
                          lambda: nn.SyncBatchNorm(3, momentum=momentum),
                          [rand(RNG, *shape, dtype="float64")], "float64", train=True)
    assert int(xm.num_batches_tracked) == 1


def test_sync_batchnorm_state_and_errors():
    tm, xm = torch.nn.SyncBatchNorm(4, process_group="g"), nn.SyncBatchNorm(4, process_group="g")
    assert list(xm.state_dict()) == list(tm.state_dict()) and xm.process_group == "g"
    assert repr(xm) == repr(tm)
    # PyTorch checks these after refusing the CPU input (ValueError too).
    with pytest.raises(ValueError, match=r"expected at least 2D input \(got 1D input\)"):
        xm(terra.ones(4))
    with pytest.raises(ValueError, match="number of input channels should be non-zero"):
        nn.SyncBatchNorm(0)(terra.ones(2, 0, 3))
    with pytest.raises(ValueError):
        tm(torch.ones(4))


def _bn_net(lib):
    return lib.nn.Sequential(lib.nn.Conv2d(2, 3, 1), lib.nn.BatchNorm2d(3, affine=False),
                             lib.nn.Sequential(lib.nn.Flatten(), lib.nn.BatchNorm1d(12)))


def test_convert_sync_batchnorm():
    tnet, xnet = _bn_net(torch), _bn_net(terra)
    t_sync = torch.nn.SyncBatchNorm.convert_sync_batchnorm(tnet, process_group="pg")
    x_sync = nn.SyncBatchNorm.convert_sync_batchnorm(xnet, process_group="pg")
    assert [type(m).__name__ for m in x_sync.modules()] == \
        [type(m).__name__ for m in t_sync.modules()]
    assert list(x_sync.state_dict()) == list(t_sync.state_dict())
    # Parameters and buffers are the original tensors, not copies.
    assert x_sync[2][1].weight is xnet[2][1].weight
    assert x_sync[2][1].running_mean is xnet[2][1].running_mean
    assert x_sync[1].weight is None and x_sync[1].process_group == "pg"
    assert x_sync[1].affine is False
    single = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm3d(2, eps=1e-3, momentum=0.2))
    assert isinstance(single, nn.SyncBatchNorm) and (single.eps, single.momentum) == (1e-3, 0.2)


# ---- deprecated layers ----------------------------------------------------------------------

def test_nll_loss2d_warns_and_matches_torch():
    with pytest.warns(UserWarning, match="NLLLoss2d has been deprecated"):
        xm = nn.NLLLoss2d(ignore_index=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_module(lambda: torch.nn.NLLLoss2d(ignore_index=1), lambda: xm,
                     [rand(RNG, 2, 4, 3, 3, dtype="float64"),
                      RNG.integers(0, 4, size=(2, 3, 3))], "float64")
    assert isinstance(xm, nn.NLLLoss)


def test_container_warns_and_registers():
    with pytest.warns(UserWarning, match="nn.Container is deprecated"):
        xc = nn.Container(fc=nn.Linear(2, 3), act=nn.ReLU())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tc = torch.nn.Container(fc=torch.nn.Linear(2, 3), act=torch.nn.ReLU())
    assert list(xc.state_dict()) == list(tc.state_dict())
    assert repr(xc) == repr(tc)


@pytest.mark.parametrize("size,channels", [(5, 7), (4, 6), (3, 5), (5, 2), (2, 4)])
def test_cross_map_lrn2d_matches_torch(size, channels):
    # Values and PyTorch's hand-written backward (not the exact gradient of its forward).
    check_module(lambda: torch.nn.CrossMapLRN2d(size, alpha=0.3, beta=0.7, k=1.5),
                 lambda: nn.CrossMapLRN2d(size, alpha=0.3, beta=0.7, k=1.5),
                 [rand(RNG, 2, channels, 3, 4, dtype="float64", low=-2, high=2)], "float64")
    assert repr(nn.CrossMapLRN2d(size)) == repr(torch.nn.CrossMapLRN2d(size))


def test_cross_map_lrn2d_wants_4d():
    assert_same_error(lambda: torch.nn.CrossMapLRN2d(3)(torch.ones(2, 3, 4)),
                      lambda: nn.CrossMapLRN2d(3)(terra.ones(2, 3, 4)))


# ---- conv_tbc -------------------------------------------------------------------------------

@pytest.mark.parametrize("pad", [0, 1, 2])
def test_conv_tbc_matches_torch(pad):
    check_function(lambda x, w, b: torch.conv_tbc(x, w, b, pad),
                   lambda x, w, b: F.conv_tbc(x, w, b, pad),
                   [rand(RNG, 7, 2, 3, dtype="float64"), rand(RNG, 3, 3, 4, dtype="float64"),
                    rand(RNG, 4, dtype="float64")], "float64")


@pytest.mark.parametrize("shapes", [((3, 2), (2, 2, 4), (4,)), ((3, 2, 2), (2, 4), (4,)),
                                    ((3, 2, 2), (2, 2, 4), (4, 1)), ((3, 2, 3), (2, 2, 4), (4,)),
                                    ((3, 2, 2), (2, 2, 4), (5,))], ids=str)
def test_conv_tbc_errors(shapes):
    t_args = [torch.ones(s, dtype=torch.float64) for s in shapes]
    x_args = [to_terra(t) for t in t_args]
    assert_same_error(lambda: torch.conv_tbc(*t_args), lambda: F.conv_tbc(*x_args),
                      same_message=True)
