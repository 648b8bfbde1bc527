"""Packed sequences against PyTorch 1.13: nn.utils.rnn's PackedSequence, pack_padded_sequence,
pad_packed_sequence, pack_sequence, unpack_sequence, unpad_sequence and invert_permutation, and
nn.RNN (tanh, relu), nn.LSTM and nn.GRU over packed input (layers, directions, batch_first,
enforce_sorted, initial states): outputs, final states and the gradients of the input, the
initial states and every parameter, in float64 to 1e-10; and the argument errors."""
import numpy as np
import pytest
import torch

import terra
import terra.nn as nn
from nn_parity import assert_same_error, close, rand, weighted_sum
from parity import copy_state, to_numpy

tr = torch.nn.utils.rnn
xr = nn.utils.rnn
I, H = 3, 4

# Lengths with ties and ones; all equal (one run of steps); a batch of one; all ones.
LENGTHS = {"mixed": [4, 1, 6, 4, 2, 6, 1], "equal": [3, 3, 3], "single": [5], "ones": [1, 1]}

# (id, class, constructor kwargs, batch_first, enforce_sorted, initial state given)
LAYERS = [
    ("rnn_tanh", "RNN", {}, False, True, False),
    ("rnn_relu_bidir", "RNN", {"nonlinearity": "relu", "bidirectional": True}, True, False, True),
    ("rnn_tanh_2layers_bidir", "RNN", {"num_layers": 2, "bidirectional": True}, False, False, False),
    ("lstm", "LSTM", {}, True, True, True),
    ("lstm_2layers", "LSTM", {"num_layers": 2}, False, False, True),
    ("lstm_2layers_bidir", "LSTM", {"num_layers": 2, "bidirectional": True}, True, False, False),
    ("lstm_bidir_no_bias", "LSTM", {"bidirectional": True, "bias": False}, False, True, True),
    ("gru", "GRU", {}, False, False, False),
    ("gru_bidir", "GRU", {"bidirectional": True}, True, True, True),
    ("gru_2layers_bidir", "GRU", {"num_layers": 2, "bidirectional": True}, False, False, True),
]


def _padded(rng, lengths, batch_first, trailing=(I,)):
    """A random float64 padded batch (no zeros) for these lengths, and the lengths to pack it
    with (sorted when they must be)."""
    time_major = rand(rng, max(lengths), len(lengths), *trailing, dtype="float64")
    return (time_major.swapaxes(0, 1).copy() if batch_first else time_major), lengths


def _pack_both(array, lengths, batch_first, enforce_sorted, lengths_as_tensor=False):
    """(torch PackedSequence, terra PackedSequence, torch input, terra input), inputs needing
    grad."""
    t_in = torch.tensor(array, requires_grad=True)
    x_in = terra.tensor(array, requires_grad=True)
    x_lengths = terra.tensor(lengths) if lengths_as_tensor else list(lengths)
    t_packed = tr.pack_padded_sequence(t_in, torch.tensor(lengths), batch_first, enforce_sorted)
    x_packed = xr.pack_padded_sequence(x_in, x_lengths, batch_first, enforce_sorted)
    return t_packed, x_packed, t_in, x_in


def _same_indices(x_index, t_index, what):
    if t_index is None:
        assert x_index is None, what
    else:
        assert x_index.dtype == terra.int64, what
        assert x_index.tolist() == t_index.tolist(), what


def _same_packing(x_packed, t_packed):
    assert type(x_packed) is xr.PackedSequence
    assert x_packed.batch_sizes.dtype == terra.int64
    assert x_packed.batch_sizes.device.type == "cpu"
    assert x_packed.batch_sizes.tolist() == t_packed.batch_sizes.tolist()
    _same_indices(x_packed.sorted_indices, t_packed.sorted_indices, "sorted_indices")
    _same_indices(x_packed.unsorted_indices, t_packed.unsorted_indices, "unsorted_indices")
    close(x_packed.data, t_packed.data, "float64", "packed data")


def _initial_state(rng, cls, kwargs, batch):
    shape = (kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1), batch, H)
    count = 2 if cls == "LSTM" else 1
    arrays = [rand(rng, *shape, dtype="float64") for _ in range(count)]
    t_state = [torch.tensor(a, requires_grad=True) for a in arrays]
    x_state = [terra.tensor(a, requires_grad=True) for a in arrays]
    return t_state, x_state


def _call(module, packed, state, cls):
    """(packed output, [h_n] or [h_n, c_n])."""
    if not state:
        out, hidden = module(packed)
    else:
        out, hidden = module(packed, tuple(state) if cls == "LSTM" else state[0])
    return out, list(hidden) if cls == "LSTM" else [hidden]


@pytest.mark.parametrize("lengths_id", list(LENGTHS))
@pytest.mark.parametrize("layer", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_recurrent_layer_over_packed_sequence(layer, lengths_id):
    _, cls, kwargs, batch_first, enforce_sorted, with_state = layer
    rng = np.random.default_rng(len(cls) + 10 * len(LENGTHS[lengths_id]))
    lengths = LENGTHS[lengths_id]
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    array, lengths = _padded(rng, lengths, batch_first)
    t_packed, x_packed, t_in, x_in = _pack_both(array, lengths, batch_first, enforce_sorted,
                                                lengths_as_tensor=with_state)
    _same_packing(x_packed, t_packed)

    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(I, H, batch_first=batch_first, **kwargs).double()
    xm = getattr(nn, cls)(I, H, batch_first=batch_first, **kwargs).double()
    copy_state(tm, xm)
    t_state, x_state = _initial_state(rng, cls, kwargs, len(lengths)) if with_state else ([], [])
    t_out, t_hidden = _call(tm, t_packed, t_state, cls)
    x_out, x_hidden = _call(xm, x_packed, x_state, cls)

    _same_packing(x_out, t_out)
    for i, (x_h, t_h) in enumerate(zip(x_hidden, t_hidden)):
        close(x_h, t_h, "float64", f"final state {i}")
    t_pad, t_len = tr.pad_packed_sequence(t_out, batch_first, padding_value=0.25)
    x_pad, x_len = xr.pad_packed_sequence(x_out, batch_first, padding_value=0.25)
    close(x_pad, t_pad, "float64", "padded output")
    assert x_len.tolist() == t_len.tolist() == list(lengths)

    # Gradients through packing, the layer and unpacking, of a random weighting of everything.
    weighted_sum([t_out.data, t_pad] + t_hidden, np.random.default_rng(1), torch).backward()
    weighted_sum([x_out.data, x_pad] + x_hidden, np.random.default_rng(1), terra).backward()
    close(x_in.grad, t_in.grad, "float64", "grad of the padded input")
    for i, (x_s, t_s) in enumerate(zip(x_state, t_state)):
        close(x_s.grad, t_s.grad, "float64", f"grad of initial state {i}")
    x_params = dict(xm.named_parameters())
    for name, tp in tm.named_parameters():
        close(x_params[name].grad, tp.grad, "float64", f"grad of {name}")


def test_dropout_between_layers_keeps_the_packing():
    rng = np.random.default_rng(5)
    array, lengths = _padded(rng, [5, 3, 3, 1], False)
    packed = xr.pack_padded_sequence(terra.tensor(array), lengths)
    lstm = nn.LSTM(I, H, num_layers=2, dropout=0.5).double()
    out, (h, c) = lstm(packed)
    assert out.batch_sizes.tolist() == [4, 3, 3, 1, 1]
    assert tuple(out.data.shape) == (12, H) and tuple(h.shape) == tuple(c.shape) == (2, 4, H)
    lstm.eval()
    np.testing.assert_array_equal(to_numpy(lstm(packed)[0].data), to_numpy(lstm(packed)[0].data))


# --- the packing functions on their own


@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("trailing", [(), (2, 3)], ids=["scalars", "matrices"])
def test_pack_and_pad_round_trip(trailing, batch_first, enforce_sorted):
    lengths = [6, 6, 4, 2, 1] if enforce_sorted else [2, 6, 1, 6, 4]
    array, _ = _padded(np.random.default_rng(2), lengths, batch_first, trailing)
    t_packed, x_packed, t_in, x_in = _pack_both(array, lengths, batch_first, enforce_sorted)
    _same_packing(x_packed, t_packed)
    for total_length in (None, 8):
        t_pad, t_len = tr.pad_packed_sequence(t_packed, batch_first, -1.5, total_length)
        x_pad, x_len = xr.pad_packed_sequence(x_packed, batch_first, -1.5, total_length)
        close(x_pad, t_pad, "float64", f"padded, total_length={total_length}")
        assert x_len.dtype == terra.int64 and x_len.device.type == "cpu"
        assert x_len.tolist() == t_len.tolist()
    weighted_sum([t_packed.data, t_pad], np.random.default_rng(3), torch).backward()
    weighted_sum([x_packed.data, x_pad], np.random.default_rng(3), terra).backward()
    close(x_in.grad, t_in.grad, "float64", "grad of the padded input")


def test_pack_and_pad_integer_data():
    tokens = np.array([[1, 2, 3], [4, 5, 0], [6, 0, 0]]).T  # time-major, lengths 3, 2, 1
    t_packed = tr.pack_padded_sequence(torch.tensor(tokens), [3, 2, 1])
    x_packed = xr.pack_padded_sequence(terra.tensor(tokens), [3, 2, 1])
    assert x_packed.data.dtype == terra.int64
    assert x_packed.data.tolist() == t_packed.data.tolist() == [1, 4, 6, 2, 5, 3]
    t_pad, _ = tr.pad_packed_sequence(t_packed, batch_first=True, padding_value=-1)
    x_pad, _ = xr.pad_packed_sequence(x_packed, batch_first=True, padding_value=-1)
    assert x_pad.dtype == terra.int64 and x_pad.tolist() == t_pad.tolist()


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_and_unpack_sequence(enforce_sorted):
    rng = np.random.default_rng(4)
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    arrays = [rand(rng, n, 2, dtype="float64") for n in lengths]
    t_seqs = [torch.tensor(a, requires_grad=True) for a in arrays]
    x_seqs = [terra.tensor(a, requires_grad=True) for a in arrays]
    t_packed = tr.pack_sequence(t_seqs, enforce_sorted)
    x_packed = xr.pack_sequence(x_seqs, enforce_sorted)
    _same_packing(x_packed, t_packed)
    t_back, x_back = tr.unpack_sequence(t_packed), xr.unpack_sequence(x_packed)
    assert len(x_back) == len(t_back)
    for x_s, t_s, a in zip(x_back, t_back, arrays):
        close(x_s, t_s, "float64", "unpacked sequence")
        np.testing.assert_array_equal(to_numpy(x_s), a)
    weighted_sum(t_back, np.random.default_rng(5), torch).backward()
    weighted_sum(x_back, np.random.default_rng(5), terra).backward()
    for x_s, t_s in zip(x_seqs, t_seqs):
        close(x_s.grad, t_s.grad, "float64", "grad of a sequence")


@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence(batch_first):
    rng = np.random.default_rng(6)
    lengths = [2, 4, 1]
    array, _ = _padded(rng, lengths, batch_first)
    x_padded = terra.tensor(array)
    t_seqs = tr.unpad_sequence(torch.tensor(array), torch.tensor(lengths), batch_first)
    x_seqs = xr.unpad_sequence(x_padded, terra.tensor(lengths), batch_first)
    assert [tuple(s.shape) for s in x_seqs] == [tuple(s.shape) for s in t_seqs]
    for x_s, t_s in zip(x_seqs, t_seqs):
        close(x_s, t_s, "float64", "unpadded sequence")
    # PyTorch 1.13 transposes a time-major argument in place; Terra leaves it alone.
    assert tuple(x_padded.shape) == array.shape


def test_invert_permutation():
    perm = np.random.default_rng(7).permutation(9)
    x_inv = xr.invert_permutation(terra.tensor(perm))
    assert x_inv.dtype == terra.int64
    assert x_inv.tolist() == tr.invert_permutation(torch.tensor(perm)).tolist()
    assert xr.invert_permutation(None) is None


def test_packed_sequence_class():
    array, lengths = _padded(np.random.default_rng(8), [2, 3, 1], False)
    packed = xr.pack_padded_sequence(terra.tensor(array), lengths, enforce_sorted=False)
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert packed._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    assert isinstance(packed, tuple) and repr(packed).startswith("PackedSequence(data=tensor(")
    # unsorted_indices is derived when left out; the (data, batch_sizes) tuple form.
    again = xr.PackedSequence(data, batch_sizes, sorted_indices)
    assert again.unsorted_indices.tolist() == unsorted_indices.tolist() == [1, 0, 2]
    assert xr.PackedSequence((data, batch_sizes)).sorted_indices is None
    # Conversions touch data only, and return self when nothing changes.
    assert packed.to(terra.float64) is packed and packed.double() is packed
    assert packed.cpu() is packed and packed.to("cpu") is packed
    single = packed.float()
    assert single.data.dtype == terra.float32 and single.batch_sizes is batch_sizes
    assert single.sorted_indices.tolist() == sorted_indices.tolist()
    assert packed.to(terra.float32).data.dtype == terra.float32
    assert packed.long().data.dtype == terra.int64 and packed.int().data.dtype == terra.int32
    assert packed.is_cuda is False and packed.is_pinned() is False
    with pytest.raises(TypeError):
        packed.half()


# --- errors


def _both_packings(array, lengths, **kwargs):
    return (lambda: tr.pack_padded_sequence(torch.tensor(array), lengths, **kwargs),
            lambda: xr.pack_padded_sequence(terra.tensor(array), lengths, **kwargs))


@pytest.mark.parametrize("lengths,kwargs", [
    ([3, 1, 2], {}),  # not sorted, enforce_sorted=True
    ([3, 0, 2], {}),  # a zero length, unsorted: PyTorch reports the order first
    ([3, 2, 0], {}),
    ([3, 0, 2], {"enforce_sorted": False}),
    ([3, 2, -1], {"batch_first": True}),
    ([3, 2], {}),  # fewer lengths than sequences
], ids=["unsorted", "zero_unsorted", "zero_sorted", "zero_enforce_sorted_false", "negative",
        "count"])
def test_pack_padded_sequence_errors_match_pytorch(lengths, kwargs):
    array = np.ones((4, 3, 2))
    assert_same_error(*_both_packings(array, lengths, **kwargs), same_message=True)


def test_pack_empty_input_error_matches_pytorch():
    assert_same_error(*_both_packings(np.ones((0, 3, 2)), [1, 1, 1]), same_message=True)


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_lengths_longer_than_the_input(enforce_sorted):
    # PyTorch 1.13 does not check this (it packs memory past the input's end); Terra refuses with
    # the RuntimeError its other length checks raise.
    with pytest.raises(RuntimeError, match="length 6 is longer than the input's 4 time steps"):
        xr.pack_padded_sequence(terra.ones(4, 3, 2), [6, 2, 1], enforce_sorted=enforce_sorted)


def test_pad_packed_sequence_total_length_error_matches_pytorch():
    array = np.ones((4, 2, 2))
    t_packed = tr.pack_padded_sequence(torch.tensor(array), [4, 2])
    x_packed = xr.pack_padded_sequence(terra.tensor(array), [4, 2])
    assert_same_error(lambda: tr.pad_packed_sequence(t_packed, total_length=3),
                      lambda: xr.pad_packed_sequence(x_packed, total_length=3), same_message=True)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_recurrent_layer_argument_errors_match_pytorch(cls):
    array = np.ones((4, 2, I))
    t_packed = tr.pack_padded_sequence(torch.tensor(array), [4, 2])
    x_packed = xr.pack_padded_sequence(terra.tensor(array), [4, 2])
    t_wide = tr.pack_padded_sequence(torch.ones(4, 2, I + 1, dtype=torch.float64), [4, 2])
    x_wide = xr.pack_padded_sequence(terra.ones(4, 2, I + 1, dtype=terra.float64), [4, 2])
    tm = getattr(torch.nn, cls)(I, H).double()
    xm = getattr(nn, cls)(I, H).double()
    assert_same_error(lambda: tm(t_wide), lambda: xm(x_wide), same_message=True)
    t_h, x_h = torch.zeros(1, 3, H, dtype=torch.float64), terra.zeros(1, 3, H, dtype=terra.float64)
    t_state, x_state = ((t_h, t_h), (x_h, x_h)) if cls == "LSTM" else (t_h, x_h)
    assert_same_error(lambda: tm(t_packed, t_state), lambda: xm(x_packed, x_state),
                      same_message=True)
