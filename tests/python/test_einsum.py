"""terra.einsum (bindings/terra/_einsum.py) against PyTorch 1.13's torch.einsum: values and the
gradient of every operand through a random weighting of the output, in float64 and float32; the
call forms (varargs, one list, sublists); every error, with PyTorch's message; and a small training
loop with einsum layers, eager against co-executed, bitwise."""
import re

import numpy as np
import pytest

import terra
from terra import nn
from parity import assert_close

torch = pytest.importorskip("torch")

CASES = [
    # equation, operand shapes
    ("ij,jk->ik", [(2, 3), (3, 4)]),                     # matmul
    ("ij,jk", [(2, 3), (3, 4)]),                         # implicit output
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),            # batched matmul
    ("bij,bjk->bik", [(1, 3, 4), (3, 4, 5)]),            # b = 1 on one side
    ("bij,jk->bik", [(3, 2, 4), (4, 5)]),                # batch on one side only
    ("i,j->ij", [(3,), (4,)]),                           # outer
    ("i,i->", [(5,), (5,)]),                             # dot
    ("i,i", [(5,), (5,)]),
    ("ii", [(4, 4)]),                                    # trace
    ("ii->i", [(4, 4)]),                                 # diagonal
    ("iij->j", [(3, 3, 4)]),
    ("jii->ij", [(4, 3, 3)]),
    ("iii->i", [(3, 3, 3)]),
    ("ii,i->i", [(3, 3), (1,)]),                         # diagonal and broadcasting
    ("ij->ji", [(3, 4)]),                                # transpose
    ("ji", [(3, 4)]),                                    # implicit: sorted, so a transpose
    ("ij->", [(3, 4)]),                                  # sum
    ("ij", [(3, 4)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),                     # elementwise
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("ij,ji", [(3, 4), (4, 3)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]),                     # a size-1 contracted dim broadcasts
    ("ij,kj->ikj", [(1, 4), (3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),   # attention scores
    ("bhqk,bhkd->bhqd", [(2, 3, 4, 6), (2, 3, 6, 5)]),   # attention output
    ("...ij,...jk->...ik", [(2, 3, 4, 5), (3, 5, 2)]),   # ellipsis, broadcast over missing dims
    ("...ij,...jk", [(2, 3, 4), (1, 4, 5)]),             # ... of size 1 broadcasts
    ("i...j,j...k->...ik", [(2, 3, 4), (4, 3, 5)]),
    ("...ij->ij", [(2, 3, 4, 5)]),                       # ellipsis summed when not in the output
    ("i...->...", [(3, 2, 4)]),
    ("...,...->...", [(2, 3), (3,)]),
    ("...->...", [(2, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),          # three operands
    ("ij,jk,kl", [(2, 3), (3, 4), (4, 5)]),
    ("bn,anm,bm->ba", [(2, 5), (3, 5, 4), (2, 4)]),      # bilinear
    ("i,j,k->ijk", [(2,), (3,), (4,)]),
    ("ab,bc,cd,de->ae", [(2, 3), (3, 4), (4, 2), (2, 3)]),
    ("ijk,jil->kl", [(2, 3, 4), (3, 2, 5)]),
    ("AB,BC->AC", [(2, 3), (3, 4)]),                     # upper case
    ("zA,Bz", [(3, 2), (4, 3)]),                         # implicit: upper case sorts first
    ("aA,Aa->Aa", [(3, 2), (2, 3)]),
    (" ij , jk -> ik ", [(2, 3), (3, 4)]),               # spaces
    ("i,->i", [(3,), ()]),                               # 0-d operand
    ("->", [()]),
    ("", [()]),
    ("ij,jk->ik", [(2, 0), (0, 3)]),                     # empty contraction: zeros
]


def _arrays(shapes, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _run(lib, equation, arrays):
    """einsum's output and the gradient of each operand through a random weighting of it."""
    operands = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
    out = lib.einsum(equation, *operands)
    weights = np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(arrays[0].dtype)
    (out * lib.tensor(weights)).sum().backward()
    return out, [t.grad for t in operands]


def _check(equation, arrays, tol):
    got, got_grads = _run(terra, equation, arrays)
    want, want_grads = _run(torch, equation, arrays)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert_close(got, want, rtol=tol, atol=tol, what=f"{equation} value")
    for i, (g, w) in enumerate(zip(got_grads, want_grads)):
        assert_close(g, w, rtol=tol, atol=tol, what=f"{equation} grad of operand {i}")


@pytest.mark.parametrize("equation,shapes", CASES, ids=[f"{i}:{c[0]}" for i, c in enumerate(CASES)])
def test_einsum_float64_matches_torch(equation, shapes):
    _check(equation, _arrays(shapes, seed=len(equation)), tol=1e-12)


@pytest.mark.parametrize("equation,shapes", CASES[::4], ids=[c[0] for c in CASES[::4]])
def test_einsum_float32_matches_torch(equation, shapes):
    _check(equation, _arrays(shapes, seed=3, dtype=np.float32), tol=1e-5)


def test_integer_operands_stay_integer():
    a, b = (np.random.default_rng(0).integers(-5, 5, s) for s in ((2, 3), (3, 4)))
    got = terra.einsum("ij,jk", terra.tensor(a), terra.tensor(b))
    assert got.dtype == terra.int64
    assert np.array_equal(got.numpy(), a @ b)


def test_operands_as_one_list_and_as_sublists():
    a, b, c = (terra.tensor(x) for x in _arrays([(2, 3), (3, 4), (4, 5)], seed=4))
    want = terra.einsum("ij,jk,kl->il", a, b, c).numpy()
    assert np.array_equal(terra.einsum("ij,jk,kl->il", [a, b, c]).numpy(), want)
    assert np.array_equal(terra.einsum("ij,jk,kl->il", (a, b, c)).numpy(), want)
    assert np.array_equal(terra.einsum(a, [8, 9], b, [9, 10], c, [10, 11], [8, 11]).numpy(), want)
    x = _arrays([(2, 3, 4)], seed=5)[0]
    got = terra.einsum(terra.tensor(x), [Ellipsis, 30, 0], [0, Ellipsis])
    assert_close(got, torch.einsum(torch.tensor(x), [Ellipsis, 30, 0], [0, Ellipsis]), rtol=1e-12, atol=1e-12)


def test_single_operand_permutation_is_a_view():
    x = terra.tensor(_arrays([(3, 4)], seed=6)[0])
    assert terra.einsum("ij->ji", x).data_ptr() == x.data_ptr()


ERRORS = [
    # equation, operand shapes, exception, part of the message (PyTorch's, checked against it too)
    ("ij,jk->ik", [(2, 3)], RuntimeError, "fewer operands were provided than specified in the equation"),
    ("i,,->i", [(2,)], RuntimeError, "fewer operands were provided than specified in the equation"),
    ("ij->ik", [(2, 3), (3, 4)], RuntimeError, "more operands were provided than specified in the equation"),
    ("ijk,jk->ik", [(2, 3), (3, 4)], RuntimeError,
     "the number of subscripts in the equation (3) does not match the number of dimensions (2) for operand 0 and "
     "no ellipsis was given"),
    ("", [(2, 3)], RuntimeError, "the number of subscripts in the equation (0) does not match"),
    ("...ij,jk->ik", [(3,), (3, 4)], RuntimeError,
     "the number of subscripts in the equation (2) is more than the number of dimensions (1) for operand 0"),
    ("ij,jk->ik", [(2, 3), (4, 5)], RuntimeError,
     "subscript j has size 4 for operand 1 which does not broadcast with previously seen size 3"),
    ("ii->i", [(2, 3)], RuntimeError, "subscript i is repeated for operand 0 but the sizes don't match, 3 != 2"),
    # PyTorch's message lacks the space before "has size".
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 3, 4)], RuntimeError,
     "dimension 0 covered by ellipsis in operand 1"),
    ("ij,jk->iz", [(2, 3), (3, 4)], RuntimeError, "output subscript z does not appear in the equation for any input"),
    ("ij,jk->ii", [(2, 3), (3, 4)], RuntimeError, "output subscript i appears more than once in the output"),
    ("i1,jk->ik", [(2, 3), (3, 4)], RuntimeError,
     "invalid subscript given at index 1 in the equation string, subscripts must be in [a-zA-Z]"),
    ("ij,jk->i1", [(2, 3), (3, 4)], RuntimeError, "invalid subscript given at index 8 in the equation string"),
    ("ij->j->i", [(2, 3)], RuntimeError, "invalid subscript given at index 5 in the equation string"),
    ("i.j->i", [(2, 3)], RuntimeError, "found '.' for operand 0 that is not part of any ellipsis"),
    ("...i...->i", [(2, 3)], RuntimeError, "found '.' for operand 0 for which an ellipsis was already found"),
    ("...i->......", [(2, 3)], RuntimeError, "found '.' for output but an ellipsis (...) was already found"),
    ("...i->..", [(2, 3)], RuntimeError, "found '.' for output that is not part of any ellipsis (...)"),
    ("ij,jk", [], ValueError, "must specify the equation string and at least one operand"),
]


@pytest.mark.parametrize("equation,shapes,error,message", ERRORS, ids=[f"{i}:{e[0]}" for i, e in enumerate(ERRORS)])
def test_einsum_errors_as_torch(equation, shapes, error, message):
    for lib in (torch, terra):
        operands = [lib.ones(s) for s in shapes]
        with pytest.raises(error, match=re.escape("einsum(): " + message)):
            lib.einsum(equation, *operands)


def test_sublist_out_of_range_error():
    for lib in (torch, terra):
        with pytest.raises(ValueError, match=re.escape("subscript list is not within the valid range [0, 52)")):
            lib.einsum(lib.ones(2), [52])


# ---- co-execution ----------------------------------------------------------------------------

def train_with_einsum(steps=12):
    """A linear layer and an attention-like mixing written with einsum, a trace penalty (a
    diagonal), SGD."""
    rng = np.random.default_rng(2)
    w = nn.Parameter(terra.tensor(rng.standard_normal((6, 4)) * 0.3, dtype=terra.float32))
    b = nn.Parameter(terra.tensor(rng.standard_normal(4) * 0.1, dtype=terra.float32))
    opt = terra.optim.SGD([w, b], lr=0.05, momentum=0.5)
    losses = []
    for _ in range(steps):
        x = terra.tensor(rng.standard_normal((2, 5, 6)), dtype=terra.float32)
        y = terra.tensor(rng.standard_normal((2, 5, 4)), dtype=terra.float32)
        h = terra.einsum("bti,io->bto", x, w) + b
        mixed = terra.einsum("bts,bso->bto", terra.einsum("bto,bso->bts", h, h).softmax(-1), h)
        loss = ((mixed - y) ** 2).mean() + 1e-3 * terra.einsum("ii", terra.einsum("io,jo->ij", w, w))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.detach())  # read after the loop: nothing in it waits for the graph
    return [loss.item() for loss in losses], [p.detach().numpy().copy() for p in (w, b)]


def test_einsum_training_coexecuted_equals_eager_bitwise():
    eager = train_with_einsum()
    with terra.coexec(fusion=False):
        coexecuted = train_with_einsum()
    stats = terra.debug.stats()
    assert stats["coexecuted"] is True and stats["iterations_replayed"] > 0, stats
    assert coexecuted[0] == eager[0]
    for got, want in zip(coexecuted[1], eager[1]):
        assert got.dtype == want.dtype and np.array_equal(got, want)
