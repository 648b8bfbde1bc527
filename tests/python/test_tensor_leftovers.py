"""The in-place forms addbmm_, addmv_ and addr_ (bindings/terra/_inplace_functions.py) against
PyTorch 1.13: values and keywords (beta, alpha), gradients through a non-leaf self, and
PyTorch's checks (a leaf that requires grad, a result that cannot be cast into self, a shape
other than self's)."""
import numpy as np
import pytest
import torch

import terra

from function_parity import compare, inputs, run

# name -> (input specs: self first, keyword arguments)
CASES = {
    "addbmm_": ([(3, 4), (2, 3, 5), (2, 5, 4)], dict(beta=0.5, alpha=2.0)),
    "addmv_": ([(3,), (3, 2), (2,)], dict(beta=-1.5, alpha=0.25)),
    "addr_": ([(2, 3), (2,), (3,)], dict(alpha=3.0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients(name):
    specs, kwargs = CASES[name]

    def fn(lib, self, *others):
        target = self * 1.0  # a non-leaf: in place is allowed and the gradient flows to self
        return getattr(target, name)(*others, **kwargs)
    arrays = inputs(specs, seed=len(name))
    ours, our_grads = run(terra, fn, arrays)
    theirs, their_grads = run(torch, fn, arrays)
    compare(name, ours, theirs, rtol=1e-12)
    compare(f"{name} gradients", our_grads, their_grads, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_returns_self(name):
    specs, kwargs = CASES[name]
    self, *others = (terra.tensor(a) for a in inputs(specs, seed=1))
    assert getattr(self, name)(*others, **kwargs) is self


@pytest.mark.parametrize("name", sorted(CASES))
def test_pytorchs_checks(name):
    specs, _ = CASES[name]
    arrays = inputs(specs, seed=2)
    for lib in (terra, torch):
        self, *others = (lib.tensor(a) for a in arrays)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            getattr(self.clone().requires_grad_(True), name)(*others)
        with pytest.raises(RuntimeError):
            getattr(self.to(lib.int64), name)(*others)


def test_shape_other_than_selfs_is_refused():
    # PyTorch 1.13 resizes a broadcastable self of addbmm_ (with a warning); Terra refuses.
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        terra.ones(1, 4).addbmm_(terra.ones(2, 3, 5), terra.ones(2, 5, 4))
    np.testing.assert_array_equal(terra.ones(3).addmv_(terra.ones(3, 2), terra.ones(2)).numpy(), [3.0, 3.0, 3.0])
