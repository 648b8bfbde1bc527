"""terra.nn recurrent layers against PyTorch 1.13: RNN (tanh/relu), LSTM and GRU in every
configuration (layers, directions, batch_first, bias, initial states, unbatched input), the
cells, parameter names/shapes, argument errors, and a small LSTM language model trained for a
few steps side by side."""
import numpy as np
import pytest
import torch

import terra
import terra.nn as nn
from nn_parity import DTYPES, assert_same_error, check_module, close, phases, rand
from parity import copy_state, to_numpy

T, N, I, H = 4, 3, 3, 5

# (id, kwargs)
CONFIGS = [
    ("basic", {}),
    ("two_layers", {"num_layers": 2}),
    ("bidirectional", {"bidirectional": True}),
    ("two_layers_bidir_batch_first", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("no_bias", {"bias": False}),
    ("dropout_eval", {"num_layers": 2, "dropout": 0.4}),
]
KINDS = [("rnn_tanh", "RNN", {}), ("rnn_relu", "RNN", {"nonlinearity": "relu"}),
         ("lstm", "LSTM", {}), ("gru", "GRU", {})]


def _cases():
    for kid, cls, kkw in KINDS:
        for cid, ckw in CONFIGS:
            yield pytest.param(cls, {**kkw, **ckw}, id=f"{kid}-{cid}")


def _input(dtype, batch_first, seed=0, batched=True):
    rng = np.random.default_rng(seed)
    if not batched:
        return rand(rng, T, I, dtype=dtype)
    return rand(rng, N, T, I, dtype=dtype) if batch_first else rand(rng, T, N, I, dtype=dtype)


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
@pytest.mark.parametrize("cls,kwargs", list(_cases()))
def test_recurrent(cls, kwargs, with_state, dtype, grad):
    x = _input(dtype, kwargs.get("batch_first", False))
    inputs = [x]
    call = None
    if with_state:
        d = 2 if kwargs.get("bidirectional") else 1
        rng = np.random.default_rng(7)
        shape = (kwargs.get("num_layers", 1) * d, N, H)
        inputs.append(rand(rng, *shape, dtype=dtype))
        if cls == "LSTM":
            inputs.append(rand(rng, *shape, dtype=dtype))
            call = lambda m, x, h, c: m(x, (h, c))  # noqa: E731
    check_module(lambda: getattr(torch.nn, cls)(I, H, **kwargs),
                 lambda: getattr(nn, cls)(I, H, **kwargs), inputs, dtype, grad=grad, call=call)


@phases()
@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_unbatched(cls, grad):
    dtype = "float64"
    x = _input(dtype, False, batched=False)
    rng = np.random.default_rng(3)
    h = rand(rng, 2, H, dtype=dtype)
    if cls == "LSTM":
        c = rand(rng, 2, H, dtype=dtype)
        check_module(lambda: torch.nn.LSTM(I, H, num_layers=2), lambda: nn.LSTM(I, H, num_layers=2),
                     [x, h, c], dtype, grad=grad, call=lambda m, x, h, c: m(x, (h, c)))
    else:
        check_module(lambda: getattr(torch.nn, cls)(I, H, num_layers=2),
                     lambda: getattr(nn, cls)(I, H, num_layers=2), [x, h], dtype, grad=grad)
    check_module(lambda: getattr(torch.nn, cls)(I, H, batch_first=True),
                 lambda: getattr(nn, cls)(I, H, batch_first=True), [x], dtype, grad=grad)


CELLS = [("rnn_cell", "RNNCell", {}), ("rnn_cell_relu", "RNNCell", {"nonlinearity": "relu"}),
         ("rnn_cell_nobias", "RNNCell", {"bias": False}), ("lstm_cell", "LSTMCell", {}),
         ("gru_cell", "GRUCell", {}), ("gru_cell_nobias", "GRUCell", {"bias": False})]


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("state", ["none", "given", "unbatched"])
@pytest.mark.parametrize("cell", CELLS, ids=[c[0] for c in CELLS])
def test_cell(cell, state, dtype, grad):
    _, cls, kwargs = cell
    rng = np.random.default_rng(0)
    batch = () if state == "unbatched" else (N,)
    inputs = [rand(rng, *batch, I, dtype=dtype)]
    call = None
    if state != "none":
        inputs.append(rand(rng, *batch, H, dtype=dtype))
        if cls == "LSTMCell":
            inputs.append(rand(rng, *batch, H, dtype=dtype))
            call = lambda m, x, h, c: m(x, (h, c))  # noqa: E731
    check_module(lambda: getattr(torch.nn, cls)(I, H, **kwargs),
                 lambda: getattr(nn, cls)(I, H, **kwargs), inputs, dtype, grad=grad, call=call)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_parameter_names_and_shapes(cls):
    kw = {"num_layers": 2, "bidirectional": True}
    t, x = getattr(torch.nn, cls)(4, 6, **kw), getattr(nn, cls)(4, 6, **kw)
    assert [(n, tuple(p.shape)) for n, p in x.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert list(x.state_dict()) == list(t.state_dict())
    assert x._flat_weights_names == t._flat_weights_names
    assert [[tuple(p.shape) for p in ps] for ps in x.all_weights] == \
        [[tuple(p.shape) for p in ps] for ps in t.all_weights]
    bound = 1 / np.sqrt(6)
    assert all(np.abs(to_numpy(p)).max() <= bound for p in x.parameters())
    x.flatten_parameters()


def test_dropout_between_layers_in_training():
    terra.manual_seed(0)
    m = nn.LSTM(I, 16, num_layers=2, dropout=0.5)
    x = terra.tensor(_input("float32", False))
    m.eval()
    a = to_numpy(m(x)[0])
    np.testing.assert_array_equal(to_numpy(m(x)[0]), a)
    m.train()
    b = to_numpy(m(x)[0])
    assert b.shape == a.shape and not np.allclose(a, b)
    # One layer: dropout applies to nothing (PyTorch warns).
    with pytest.warns(UserWarning):
        one = nn.GRU(I, H, dropout=0.5)
    np.testing.assert_array_equal(to_numpy(one(x)[0]), to_numpy(one.eval()(x)[0]))


def _same_error(t_call, x_call, same_message=True):
    assert_same_error(t_call, x_call, same_message)


def test_argument_errors():
    for cls in ["RNN", "GRU"]:
        t, x = getattr(torch.nn, cls)(I, H), getattr(nn, cls)(I, H)
        _same_error(lambda: t(torch.zeros(T, N, I + 1)), lambda: x(terra.zeros(T, N, I + 1)))
        _same_error(lambda: t(torch.zeros(T, N, I), torch.zeros(1, N + 1, H)),
                    lambda: x(terra.zeros(T, N, I), terra.zeros(1, N + 1, H)), True)
        _same_error(lambda: t(torch.zeros(T, N, I), torch.zeros(N, H)),
                    lambda: x(terra.zeros(T, N, I), terra.zeros(N, H)), True)
        _same_error(lambda: t(torch.zeros(T, I), torch.zeros(1, 1, H)),
                    lambda: x(terra.zeros(T, I), terra.zeros(1, 1, H)), True)
    t, x = torch.nn.LSTM(I, H), nn.LSTM(I, H)
    _same_error(lambda: t(torch.zeros(T, N, I), (torch.zeros(1, N, H), torch.zeros(2, N, H))),
                lambda: x(terra.zeros(T, N, I), (terra.zeros(1, N, H), terra.zeros(2, N, H))), True)
    _same_error(lambda: t(torch.zeros(T, N, I), (torch.zeros(N, H), torch.zeros(N, H))),
                lambda: x(terra.zeros(T, N, I), (terra.zeros(N, H), terra.zeros(N, H))), True)
    with pytest.raises(RuntimeError):
        nn.LSTM(I, H)(terra.zeros(2, 2, 2, I))
    with pytest.raises(ValueError):
        nn.GRUCell(I, H)(terra.zeros(2, 2, I))
    with pytest.raises(RuntimeError):
        nn.LSTMCell(I, H)(terra.zeros(2, I + 1))
    with pytest.raises(ValueError):
        nn.GRU(I, H, proj_size=2)


class _LanguageModel:
    """Embedding -> 2-layer LSTM -> Linear decoder, the benchmark's shape in miniature."""

    @staticmethod
    def build(lib, vocab=20, emb=8, hidden=12):
        nn_ = lib.nn

        class LM(nn_.Module):
            def __init__(self):
                super().__init__()
                self.encoder = nn_.Embedding(vocab, emb)
                self.rnn = nn_.LSTM(emb, hidden, num_layers=2, dropout=0.2)
                self.decoder = nn_.Linear(hidden, vocab)

            def forward(self, tokens, hidden):
                out, hidden = self.rnn(self.encoder(tokens), hidden)
                return self.decoder(out).reshape(-1, vocab), hidden

        return LM()


def test_lstm_language_model_training_steps():
    """Three SGD steps with truncated backpropagation, float64, eval-mode dropout."""
    torch.manual_seed(0)
    t_lm, x_lm = _LanguageModel.build(torch).double().eval(), _LanguageModel.build(terra).double()
    copy_state(t_lm, x_lm)
    x_lm.eval()
    rng = np.random.default_rng(0)
    data = rng.integers(0, 20, size=(3, 7, 4))
    t_hidden = (torch.zeros(2, 4, 12, dtype=torch.float64),) * 2
    x_hidden = (terra.zeros(2, 4, 12, dtype=terra.float64),) * 2
    for step in range(3):
        tokens, targets = data[step, :-1], data[step, 1:].reshape(-1)
        t_hidden = tuple(h.detach() for h in t_hidden)
        x_hidden = tuple(h.detach() for h in x_hidden)
        t_out, t_hidden = t_lm(torch.tensor(tokens), t_hidden)
        x_out, x_hidden = x_lm(terra.tensor(tokens), x_hidden)
        t_loss = torch.nn.functional.cross_entropy(t_out, torch.tensor(targets))
        x_loss = nn.functional.cross_entropy(x_out, terra.tensor(targets))
        close(x_loss, t_loss, "float64", f"loss at step {step}")
        t_lm.zero_grad()
        x_lm.zero_grad()
        t_loss.backward()
        x_loss.backward()
        torch.nn.utils.clip_grad_norm_(t_lm.parameters(), 0.25)
        nn.utils.clip_grad_norm_(x_lm.parameters(), 0.25)
        with torch.no_grad():
            for p in t_lm.parameters():
                p.add_(p.grad, alpha=-1.0)
        with terra.no_grad():
            for p in x_lm.parameters():
                p.add_(p.grad, alpha=-1.0)
    for (name, tp), (_, xp) in zip(t_lm.named_parameters(), x_lm.named_parameters()):
        close(xp, tp, "float64", name)
    for th, xh in zip(t_hidden, x_hidden):
        close(xh, th, "float64", "hidden")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("trailing", [(), (3,)], ids=["vectors", "matrices"])
def test_pad_sequence_matches_pytorch_with_gradients(batch_first, trailing):
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((n,) + trailing).astype(np.float32) for n in (4, 1, 6)]
    ours = [terra.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    got = nn.utils.rnn.pad_sequence(ours, batch_first=batch_first, padding_value=-1.5)
    want = torch.nn.utils.rnn.pad_sequence(theirs, batch_first=batch_first, padding_value=-1.5)
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    weights = rng.standard_normal(tuple(want.shape)).astype(np.float32)
    (got * terra.tensor(weights)).sum().backward()
    (want * torch.tensor(weights)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6)


def test_pad_sequence_refuses_mismatched_trailing_shapes():
    with pytest.raises(RuntimeError):
        torch.nn.utils.rnn.pad_sequence([torch.ones(2, 3), torch.ones(2, 4)])
    with pytest.raises(RuntimeError, match="trailing shape"):
        nn.utils.rnn.pad_sequence([terra.ones(2, 3), terra.ones(2, 4)])


# ---- LSTM with proj_size -----------------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(num_layers=2, bidirectional=True), dict(batch_first=True, bias=False),
                                dict(num_layers=2)], ids=["2layer_bidir", "batch_first_nobias", "2layer"])
def test_lstm_proj_size_matches_torch(kw):
    rng = np.random.default_rng(0)
    D, L = (2 if kw.get("bidirectional") else 1), kw.get("num_layers", 1)
    N = 2
    x = rand(rng, *((N, 4, 5) if kw.get("batch_first") else (4, N, 5)))
    h0, c0 = rand(rng, L * D, N, 3), rand(rng, L * D, N, 6)
    t_m, x_m = torch.nn.LSTM(5, 6, proj_size=3, **kw), nn.LSTM(5, 6, proj_size=3, **kw)
    assert [(k, tuple(v.shape)) for k, v in x_m.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t_m.state_dict().items()]
    assert repr(x_m) == repr(t_m)
    copy_state(t_m, x_m)  # a torch checkpoint loads
    results = []
    for lib, m in ((torch, t_m), (terra, x_m)):
        xs = [lib.tensor(a).requires_grad_() for a in (x, h0, c0)]
        out, (h, c) = m(xs[0], (xs[1], xs[2]))
        (out.sum() + (h * 2).sum() + (c * 3).sum()).backward()
        got = [out, h, c] + [t.grad for t in xs] + [p.grad for p in m.parameters()]
        got.append(m(xs[0])[0])
        if not kw.get("batch_first"):
            packed = lib.nn.utils.rnn.pack_padded_sequence(xs[0], [4, 2])
            po, (ph, pc) = m(packed, (xs[1], xs[2]))
            got += [po.data, ph, pc]
        results.append([to_numpy(t) for t in got])
    for a, b in zip(results[1], results[0]):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_lstm_proj_size_shapes_and_errors():
    m = nn.LSTM(5, 6, proj_size=3)
    out, (h, c) = m(terra.randn(4, 5))
    assert tuple(out.shape) == (4, 3) and tuple(h.shape) == (1, 3) and tuple(c.shape) == (1, 6)
    for call in (lambda lib: lib.nn.LSTM(5, 6, proj_size=3)(lib.zeros(4, 2, 5), (lib.zeros(1, 2, 6),
                                                                                 lib.zeros(1, 2, 6))),
                 lambda lib: lib.nn.GRU(5, 6, proj_size=3),
                 lambda lib: lib.nn.LSTM(5, 6, proj_size=6)):
        assert_same_error(lambda: call(torch), lambda: call(terra), same_message=True)
