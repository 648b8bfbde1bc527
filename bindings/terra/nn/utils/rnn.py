"""terra.nn.utils.rnn: pad_sequence. Packed sequences (pack_padded_sequence and friends) are not
supported: Terra's recurrent layers take padded batches."""
import terra

from .. import functional as F


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


__all__ = ["pad_sequence"]
