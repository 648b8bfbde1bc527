"""Conversions between padded batches and PackedSequence: pack_padded_sequence,
pad_packed_sequence and unpad_sequence, with PyTorch 1.13's signatures, checks and messages.

The layout (which padded row goes to which packed row) is worked out on the host with numpy from
the lengths, which are host values anyway (a list, or a CPU tensor, as PyTorch requires); the
data then moves in one differentiable index_select, so autograd and co-execution see one op.
"""
import numpy as np

import terra

from ..._C import _ops
from ._packed import PackedSequence

__all__ = ["pack_padded_sequence", "pad_packed_sequence", "unpad_sequence"]


def _as_ints(lengths):
    """A list/tuple of numbers or a 1-D tensor as Python ints (as torch.as_tensor(lengths,
    dtype=torch.int64) reads them: fractions truncated)."""
    if isinstance(lengths, terra.Tensor):
        lengths = lengths.tolist()
    return [int(n) for n in lengths]


def _check_packable(input, lengths, batch_size, max_length):
    """PyTorch's checks on pack_padded_sequence's arguments, in its order; lengths are sorted
    when enforce_sorted is False, so only then can the sortedness check not fail."""
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if len(lengths) != batch_size:
        raise RuntimeError("Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(lengths)} (batch_size={batch_size})")
    if lengths[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if any(longer < shorter for longer, shorter in zip(lengths, lengths[1:])):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                           "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                           "pack_padded_sequence and/or pack_sequence to sidestep this "
                           "requirement if you do not need ONNX exportability.")
    # PyTorch 1.13 does not check this and packs memory past the input's end.
    if lengths[0] > max_length:
        raise RuntimeError(f"pack_padded_sequence: a sequence of length {lengths[0]} is longer "
                           f"than the input's {max_length} time steps")


def _batch_sizes(sorted_lengths):
    """How many sequences have a step t, for each t (lengths sorted in decreasing order)."""
    steps = np.arange(sorted_lengths[0])
    return (np.asarray(sorted_lengths)[None, :] > steps[:, None]).sum(axis=1)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Packs a padded batch (T, B, *) ((B, T, *) when batch_first) of sequences of the given
    lengths (a list or a CPU int64 tensor). With enforce_sorted=False the sequences are sorted by
    decreasing length first (stably) and the order is kept in sorted_indices."""
    if isinstance(lengths, terra.Tensor) and lengths.device.type != "cpu":
        raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{lengths.dim()}D {lengths.device} {lengths.dtype} tensor")
    lengths = _as_ints(lengths)
    order = None
    if not enforce_sorted:
        # Python's sort is stable, as PyTorch 1.13's CPU sort is up to 16 elements; beyond that
        # its std::sort may put equal lengths in another order (same results once unpacked).
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        lengths = [lengths[i] for i in order]
    batch_dim, time_dim = (0, 1) if batch_first else (1, 0)
    batch_size, max_length = input.shape[batch_dim], input.shape[time_dim]
    _check_packable(input, lengths, batch_size, max_length)

    # Packed row r is step t of sorted sequence i; it comes from row (t, order[i]) of the input
    # flattened over its first two dims.
    steps = np.arange(lengths[0])[:, None]
    batch = np.asarray(order if order is not None else range(batch_size))[None, :]
    rows = batch * max_length + steps if batch_first else steps * batch_size + batch
    rows = rows[steps < np.asarray(lengths)[None, :]]
    flat = _ops.reshape(input, [-1] + list(input.shape[2:]))
    data = _ops.index_select(flat, 0, terra.tensor(rows, device=input.device))
    batch_sizes = terra.tensor(_batch_sizes(lengths), dtype=terra.int64, device="cpu")
    sorted_indices = None if order is None else \
        terra.tensor(order, dtype=terra.int64, device=input.device)
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of pack_padded_sequence: (padded batch (T, B, *), or (B, T, *) when
    batch_first, in the original batch order; the lengths as a CPU int64 tensor). T is the longest
    length, or total_length when given (ValueError if shorter)."""
    batch_sizes = sequence.batch_sizes.tolist()
    max_length = len(batch_sizes)
    if total_length is not None:
        if total_length < max_length:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {max_length}")
        max_length = total_length
    data = sequence.data
    batch_size = batch_sizes[0]

    # Padded position (t, i) takes packed row offset[t] + i while sequence i has a step t, and
    # otherwise the padding row appended after the data.
    sizes = np.zeros(max_length, dtype=np.int64)
    sizes[:len(batch_sizes)] = batch_sizes
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])[:, None]
    batch = np.arange(batch_size)[None, :]
    rows = np.where(batch < sizes[:, None], offsets + batch, data.shape[0])
    if batch_first:
        rows = rows.T
    trailing = list(data.shape[1:])
    padding = _ops.full([1] + trailing, padding_value, dtype=data.dtype, device=data.device)
    source = _ops.cat([data, padding], 0)
    padded = _ops.index_select(source, 0, terra.tensor(rows.reshape(-1), device=data.device))
    padded = _ops.reshape(padded, list(rows.shape) + trailing)

    lengths = terra.tensor((sizes[:, None] > batch).sum(axis=0), dtype=terra.int64, device="cpu")
    unsorted_indices = sequence.unsorted_indices
    if unsorted_indices is None:
        return padded, lengths
    batch_dim = 0 if batch_first else 1
    return (_ops.index_select(padded, batch_dim, unsorted_indices),
            _ops.index_select(lengths, 0, unsorted_indices.cpu()))


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The sequences of a padded batch as a list of tensors (L_i, *). Unlike PyTorch 1.13, which
    transposes a time-major padded_sequences in place, the argument is left as it is."""
    if not batch_first:
        padded_sequences = _ops.transpose(padded_sequences, 0, 1)
    return [_ops.narrow(_ops.select(padded_sequences, 0, i), 0, 0, length)
            for i, length in zip(range(padded_sequences.shape[0]), _as_ints(lengths))]
