"""terra.nn.utils.rnn, as torch.nn.utils.rnn: pad_sequence, pack_sequence and unpack_sequence
here; PackedSequence and invert_permutation from _packed.py, the padded <-> packed conversions
from _packing.py. The recurrent layers (nn.RNN, nn.LSTM, nn.GRU) take and return PackedSequence."""
import terra

from .. import functional as F
from ._packed import PackedSequence, invert_permutation
from ._packing import pack_padded_sequence, pad_packed_sequence, unpad_sequence


def pad_sequence(sequences, batch_first=False, padding_value=0.0):
    """Pads tensors of shapes (L_i, *) with padding_value to one tensor of shape (max L_i, B, *),
    or (B, max L_i, *) when batch_first, as torch.nn.utils.rnn.pad_sequence; differentiable."""
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    trailing = tuple(sequences[0].shape[1:])
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        if tuple(s.shape[1:]) != trailing:
            raise RuntimeError(f"pad_sequence: every sequence needs the trailing shape {list(trailing)} of the first, "
                               f"got {list(s.shape[1:])}")
        extra = longest - s.shape[0]
        padded.append(F.pad(s, (0, 0) * len(trailing) + (0, extra), value=padding_value) if extra else s)
    return terra.stack(padded, dim=0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted=True):
    """Packs a list of tensors (L_i, *): pad_sequence, then pack_padded_sequence."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The sequences of a PackedSequence as a list of tensors (L_i, *), in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]
