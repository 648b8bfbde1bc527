"""Bad calls raise the exception type PyTorch 1.13 raises for the same mistake, so a script's
`except RuntimeError` (or IndexError, TypeError, ...) catches it under Terra too. Each case runs
in terra and in torch; the messages are checked elsewhere, next to each op's tests."""
import pytest

import terra

torch = pytest.importorskip("torch")

CASES = {
    "pad too long": lambda L: L.nn.functional.pad(L.ones(2, 3), (1, 1, 1, 1, 1, 1)),
    "pad of odd length": lambda L: L.nn.functional.pad(L.ones(2, 3), (1, 1, 1)),
    "LSTM on 4-D input": lambda L: L.nn.LSTM(3, 4)(L.ones(2, 3, 4, 3)),
    "LSTM with the wrong features": lambda L: L.nn.LSTM(3, 4)(L.ones(2, 3, 5)),
    "gather out of range": lambda L: L.gather(L.ones(3), 0, L.tensor([5])),
    "scatter out of range": lambda L: L.zeros(3).scatter(0, L.tensor([5]), 1.0),
    "scatter of a tensor out of range": lambda L: L.zeros(3).scatter(0, L.tensor([5]), L.ones(1)),
    "scatter_add out of range": lambda L: L.zeros(3).scatter_add(0, L.tensor([5]), L.ones(1)),
    "index_select out of range": lambda L: L.ones(3).index_select(0, L.tensor([5])),
    "advanced index out of range": lambda L: L.ones(3)[L.tensor([5])],
    "index_put out of range": lambda L: L.zeros(3).index_put_((L.tensor([5]),), L.tensor(1.0)),
    "embedding id out of range": lambda L: L.nn.functional.embedding(L.tensor([5]), L.ones(3, 2)),
    "cross_entropy target out of range": lambda L: L.nn.functional.cross_entropy(L.ones(2, 3), L.tensor([0, 7])),
    "matmul shapes": lambda L: L.ones(2, 3) @ L.ones(4, 5),
    "bmm batch sizes": lambda L: L.bmm(L.ones(2, 3, 4), L.ones(3, 4, 5)),
    "view of a transposed tensor": lambda L: L.ones(2, 3).t().view(6),
    "reshape to another size": lambda L: L.ones(2, 3).reshape(4),
    "expand a non-1 dim": lambda L: L.ones(2, 3).expand(3, 3),
    "cat of other shapes": lambda L: L.cat([L.ones(2, 3), L.ones(3, 2)]),
    "stack of other shapes": lambda L: L.stack([L.ones(2), L.ones(3)]),
    "conv2d channels": lambda L: L.nn.functional.conv2d(L.ones(1, 3, 5, 5), L.ones(2, 4, 3, 3)),
    "linear features": lambda L: L.nn.functional.linear(L.ones(2, 3), L.ones(4, 5)),
    "softmax dim out of range": lambda L: L.ones(2, 3).softmax(2),
    "sum dim out of range": lambda L: L.ones(2, 3).sum(5),
    "transpose dim out of range": lambda L: L.ones(2, 3).transpose(0, 2),
    "permute with a repeated dim": lambda L: L.ones(2, 3).permute(0, 0),
    "narrow past the end": lambda L: L.ones(3).narrow(0, 2, 3),
    "topk past the size": lambda L: L.ones(3).topk(5),
    "repeat with fewer dims": lambda L: L.ones(2, 3).repeat(2),
    "item of many elements": lambda L: L.ones(2).item(),
    "bool of many elements": lambda L: bool(L.ones(2)),
    "float index": lambda L: L.ones(3)[1.5],
    "max of an empty tensor": lambda L: L.tensor([]).max(),
    "mean of an int tensor": lambda L: L.tensor([1, 2]).mean(),
    "randint with low > high": lambda L: L.randint(5, 2, (3,)),
    "arange with step 0": lambda L: L.arange(0, 5, 0),
    "chunk into 0": lambda L: L.ones(3).chunk(0),
    "one_hot of -1": lambda L: L.nn.functional.one_hot(L.tensor([-1]), 3),
    "binary_cross_entropy input past 1": lambda L: L.nn.functional.binary_cross_entropy(L.tensor([1.5]), L.tensor([1.0])),
    "batch_norm of one value per channel": lambda L: L.nn.functional.batch_norm(L.ones(1, 3), None, None, training=True),
    "backward of a non-scalar": lambda L: L.ones(2, requires_grad=True).mul(2).backward(),
    "in-place on a leaf needing grad": lambda L: L.ones(2, requires_grad=True).add_(1),
    "numpy of a tensor needing grad": lambda L: L.ones(2, requires_grad=True).numpy(),
    "mm of float32 and float64": lambda L: L.ones(2, 2) @ L.ones(2, 2).double(),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_call_raises_the_exception_type_pytorch_raises(case):
    with pytest.raises(Exception) as expected:
        CASES[case](torch)
    with pytest.raises(Exception) as got:
        CASES[case](terra)
    assert type(got.value).__name__ == type(expected.value).__name__, str(got.value)
