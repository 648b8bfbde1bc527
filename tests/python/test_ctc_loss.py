"""nn.functional.ctc_loss and nn.CTCLoss (nn/_ctc_loss.py) against PyTorch 1.13: losses and
gradients for every reduction, zero_infinity, both target layouts and both kinds of lengths;
the gradient against central differences; impossible alignments; and PyTorch's errors."""
import numpy as np
import pytest
import torch

import terra
import terra.nn.functional as F
from parity import to_numpy

T, N, C = 10, 4, 5
TARGET_LENGTHS = [3, 2, 4, 0]
INPUT_LENGTHS = [10, 7, 9, 4]


def make_case(rng, blank=0, pad=-1):
    """Logits (T, N, C), padded targets (N, 4) (labels never blank, with a repeated label),
    concatenated targets."""
    logits = rng.standard_normal((T, N, C))
    labels = [c for c in range(C) if c != blank]
    padded = np.full((N, max(TARGET_LENGTHS)), pad, dtype=np.int64)
    for n, length in enumerate(TARGET_LENGTHS):
        padded[n, :length] = rng.choice(labels, size=length)
    padded[0, 1] = padded[0, 0]  # a repeat: the alignment must put a blank between them
    concatenated = np.concatenate([padded[n, :length] for n, length in enumerate(TARGET_LENGTHS)])
    return logits, padded, concatenated


def run(lib, logits, targets, input_lengths, target_lengths, as_tensors=True, dtype=np.float64,
        weights=None, **kwargs):
    """(loss, d loss / d logits) with log_probs = log_softmax(logits); weights weigh the losses
    of reduction='none'."""
    x = lib.tensor(logits.astype(dtype), requires_grad=True)
    lengths = (lib.tensor(input_lengths), lib.tensor(target_lengths)) if as_tensors \
        else (list(input_lengths), tuple(target_lengths))
    loss = lib.nn.functional.ctc_loss(x.log_softmax(-1), lib.tensor(targets), *lengths, **kwargs)
    (loss * lib.tensor(weights) if weights is not None else loss).sum().backward()
    return to_numpy(loss), to_numpy(x.grad)


def assert_matches_torch(args, kwargs, rtol=1e-10):
    expected = run(torch, *args, **kwargs)
    actual = run(terra, *args, **kwargs)
    for a, e, what in zip(actual, expected, ("loss", "grad")):
        assert a.shape == e.shape, what
        np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * max(np.abs(e).max(), 1e-3),
                                   err_msg=what)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
@pytest.mark.parametrize("as_tensors", [True, False])
def test_matches_torch(reduction, layout, as_tensors):
    rng = np.random.default_rng(1)
    logits, padded, concatenated = make_case(rng)
    targets = padded if layout == "padded" else concatenated
    weights = rng.standard_normal(N) if reduction == "none" else None
    # The padding (-1) is out of the label range: only the first target_lengths labels count.
    assert_matches_torch((logits, targets, INPUT_LENGTHS, TARGET_LENGTHS),
                         dict(as_tensors=as_tensors, weights=weights, reduction=reduction))


def test_padding_values_are_ignored():
    rng = np.random.default_rng(2)
    logits, padded, _ = make_case(rng, pad=-1)
    with_minus_one = run(terra, logits, padded, INPUT_LENGTHS, TARGET_LENGTHS)
    with_blank = run(terra, logits, np.where(padded < 0, 0, padded), INPUT_LENGTHS, TARGET_LENGTHS)
    for a, b in zip(with_minus_one, with_blank):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("blank", [2, C - 1])
def test_other_blank_index(blank):
    rng = np.random.default_rng(3)
    logits, padded, _ = make_case(rng, blank=blank, pad=blank)
    assert_matches_torch((logits, padded, INPUT_LENGTHS, TARGET_LENGTHS),
                         dict(blank=blank, reduction="mean"))


def test_float32():
    rng = np.random.default_rng(4)
    logits, padded, _ = make_case(rng, pad=0)
    assert_matches_torch((logits, padded, INPUT_LENGTHS, TARGET_LENGTHS),
                         dict(dtype=np.float32, reduction="sum"), rtol=2e-5)


def test_gradient_of_log_probs_follows_pytorch():
    """PyTorch's backward treats log_probs as log_softmax outputs: for a leaf it returns
    exp(log_probs) minus the alignment posteriors, and zero past each input's length."""
    rng = np.random.default_rng(5)
    logits, padded, _ = make_case(rng, pad=0)
    log_probs = torch.tensor(logits).log_softmax(-1).numpy()
    weights = rng.standard_normal(N)
    grads = []
    for lib in (torch, terra):
        lp = lib.tensor(log_probs, requires_grad=True)
        loss = lib.nn.functional.ctc_loss(lp, lib.tensor(padded), lib.tensor(INPUT_LENGTHS),
                                          lib.tensor(TARGET_LENGTHS), reduction="none")
        (loss * lib.tensor(weights)).sum().backward()
        grads.append(to_numpy(lp.grad))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10, atol=1e-12)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(6)
    t, c = 5, 4
    logits = rng.standard_normal((t, 2, c))
    targets = np.array([[1, 1], [2, 3]])
    input_lengths, target_lengths = [5, 4], [2, 2]

    def loss_of(x):
        return float(F.ctc_loss(terra.tensor(x).log_softmax(-1), terra.tensor(targets),
                                input_lengths, target_lengths, reduction="sum"))

    _, grad = run(terra, logits, targets, input_lengths, target_lengths, reduction="sum")
    eps = 1e-6
    numeric = np.zeros_like(logits)
    for idx in np.ndindex(logits.shape):
        step = np.zeros_like(logits)
        step[idx] = eps
        numeric[idx] = (loss_of(logits + step) - loss_of(logits - step)) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_target_longer_than_input(zero_infinity):
    """No alignment (a target longer than its input, or a repeat without room for the blank
    between): an infinite loss, or with zero_infinity a zero loss and zero gradient."""
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((4, 3, C))
    targets = np.array([[1, 2, 3, 4, 1], [2, 2, 2, 0, 0], [1, 2, 0, 0, 0]])
    input_lengths, target_lengths = [4, 4, 4], [5, 3, 2]
    losses = {}
    for lib in (torch, terra):
        x = lib.tensor(logits, requires_grad=True)
        loss = lib.nn.functional.ctc_loss(x.log_softmax(-1), lib.tensor(targets),
                                          lib.tensor(input_lengths), lib.tensor(target_lengths),
                                          reduction="none", zero_infinity=zero_infinity)
        (loss.sum() if zero_infinity else loss[2]).backward()
        losses[lib.__name__] = (to_numpy(loss), to_numpy(x.grad))
    loss, grad = losses["terra"]
    np.testing.assert_allclose(loss, losses["torch"][0], rtol=1e-10)
    if zero_infinity:
        assert list(loss[:2]) == [0.0, 0.0]
        np.testing.assert_allclose(grad, losses["torch"][1], rtol=1e-10, atol=1e-12)
        assert not grad[:, :2].any()
    else:
        assert np.isinf(loss[:2]).all()
        # PyTorch's gradient is NaN for the impossible samples even where their loss is not
        # used; Terra's is 0 there (documented difference).
        np.testing.assert_allclose(grad[:, 2], losses["torch"][1][:, 2], rtol=1e-10, atol=1e-12)
        assert np.isnan(losses["torch"][1][:, :2]).any() and not grad[:, :2].any()
    for reduction in ("mean", "sum"):
        total = F.ctc_loss(terra.tensor(logits).log_softmax(-1), terra.tensor(targets),
                           input_lengths, target_lengths, reduction=reduction,
                           zero_infinity=zero_infinity)
        assert np.isinf(float(total)) != zero_infinity


def test_empty_target():
    rng = np.random.default_rng(8)
    logits = rng.standard_normal((6, 2, C))
    targets = np.array([[1, 2], [0, 0]])
    assert_matches_torch((logits, targets, [6, 5], [2, 0]), dict(reduction="mean"))


def test_unbatched():
    rng = np.random.default_rng(9)
    logits = rng.standard_normal((T, C))
    targets = np.array([1, 3, 3, 2])
    for reduction in ("none", "mean"):
        expected = run(torch, logits, targets, T, 4, as_tensors=True, reduction=reduction)
        actual = run(terra, logits, targets, T, 4, as_tensors=True, reduction=reduction)
        assert actual[0].shape == expected[0].shape == ()
        for a, e in zip(actual, expected):
            np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)


def test_ctc_loss_module():
    rng = np.random.default_rng(10)
    logits, padded, _ = make_case(rng, pad=0)
    module = terra.nn.CTCLoss(blank=0, reduction="sum", zero_infinity=True)
    assert (module.blank, module.reduction, module.zero_infinity) == (0, "sum", True)
    expected = torch.nn.CTCLoss(reduction="sum", zero_infinity=True)(
        torch.tensor(logits).log_softmax(-1), torch.tensor(padded), torch.tensor(INPUT_LENGTHS),
        torch.tensor(TARGET_LENGTHS))
    actual = module(terra.tensor(logits).log_softmax(-1), terra.tensor(padded),
                    terra.tensor(INPUT_LENGTHS), terra.tensor(TARGET_LENGTHS))
    np.testing.assert_allclose(float(actual), float(expected), rtol=1e-10)
    assert repr(module) == "CTCLoss()"


def _call(lib, log_probs=None, targets=None, input_lengths=None, target_lengths=None, **kwargs):
    rng = np.random.default_rng(11)
    args = dict(log_probs=rng.standard_normal((6, 3, 4)),
                targets=np.array([[1, 2, 2], [1, 1, 0], [3, 0, 0]]),
                input_lengths=np.array([6, 5, 2]), target_lengths=np.array([3, 2, 1]))
    for name, value in (("log_probs", log_probs), ("targets", targets),
                        ("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        if value is not None:
            args[name] = value
    return lib.nn.functional.ctc_loss(*(lib.tensor(a) for a in args.values()), **kwargs)


@pytest.mark.parametrize("case", [
    dict(blank=4), dict(blank=-1),
    dict(input_lengths=np.array([6, 5])), dict(target_lengths=np.array([3, 2])),
    dict(input_lengths=np.array([7, 5, 2])),
    dict(target_lengths=np.array([4, 2, 1])),
    dict(targets=np.array([[1, 2, 2], [1, 1, 0]])),
    dict(targets=np.array([1, 2, 2, 1, 1])),
    dict(targets=np.zeros((3, 3, 1), dtype=np.int64)),
    dict(log_probs=np.zeros((6, 3, 4, 1))),
    dict(reduction="average"),
], ids=lambda case: "-".join(case))
def test_errors_match_torch(case):
    with pytest.raises(Exception) as expected:
        _call(torch, **case)
    with pytest.raises(type(expected.value)) as actual:
        _call(terra, **case)
    if "log_probs" in case:  # PyTorch counts one dimension too many here
        assert str(actual.value).startswith("Expected 3-dimensional tensor, but got 4-dimensional")
    else:
        assert str(actual.value) == str(expected.value)


@pytest.mark.parametrize("reduction", [None, 0, 1, 2])
def test_the_torch_level_form_takes_reductions_as_integers(reduction):
    """torch.ctc_loss has ATen's signature; left out, the reduction gives per-sample losses."""
    logits, padded, _ = make_case(np.random.default_rng(7))
    results = []
    for lib in (terra, torch):
        log_probs = lib.tensor(logits).log_softmax(-1)
        args = (log_probs, lib.tensor(padded), INPUT_LENGTHS, TARGET_LENGTHS)
        results.append(to_numpy(lib.ctc_loss(*args) if reduction is None else lib.ctc_loss(*args, 0, reduction)))
    assert results[0].shape == results[1].shape
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10)
