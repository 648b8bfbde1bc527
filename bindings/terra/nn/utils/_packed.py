"""PackedSequence, the batch of variable-length sequences that the recurrent layers take and
return, and invert_permutation; PyTorch 1.13's class (torch.nn.utils.rnn.PackedSequence).

data holds the sequences' steps time-major: the first batch_sizes[0] rows are every sequence's
first step, then the batch_sizes[1] sequences that have a second step, and so on. The sequences
are sorted by decreasing length; sorted_indices[i] is the original batch position of sorted
sequence i and unsorted_indices its inverse (both None when the input was already sorted).
batch_sizes is always a CPU int64 tensor; the index tensors live on data's device.
"""
from collections import namedtuple

import terra

__all__ = ["PackedSequence", "invert_permutation"]

_PackedSequenceFields = namedtuple("PackedSequence_",
                                   ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


def _bind(optional, fn):
    return None if optional is None else fn(optional)


def invert_permutation(permutation):
    """The permutation p' with p'[p[i]] = i (None stays None)."""
    if permutation is None:
        return None
    positions = terra.arange(0, permutation.numel(), device=permutation.device)
    return terra.empty_like(permutation).scatter_(0, permutation, positions)


class PackedSequence(_PackedSequenceFields):
    """Holds the data and batch_sizes of a packed batch of sequences (see the module docstring).
    Made by pack_padded_sequence and pack_sequence, and by the recurrent layers."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes), sorted_indices=...)
            assert isinstance(data, (list, tuple)) and len(data) == 2
            data, batch_sizes = data
        elif batch_sizes.device.type != "cpu":
            raise ValueError(
                "batch_sizes should always be on CPU. Instances of PackedSequence should never be "
                "created manually. They should be instantiated by functions like pack_sequence "
                "and pack_padded_sequences in nn.utils.rnn. "
                "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data, **index_kwargs):
        """self with `data` in place of self.data, the index tensors moved to data's device
        (batch_sizes stays on the CPU); self itself when data is self.data."""
        if data is self.data:
            return self
        move = lambda t: t.to(data.device, **index_kwargs)  # noqa: E731
        return type(self)(data, self.batch_sizes, _bind(self.sorted_indices, move),
                          _bind(self.unsorted_indices, move))

    def to(self, *args, **kwargs):
        """Tensor.to on data; the index tensors follow data's device, and only non_blocking and
        copy (given as keywords) apply to them. Returns self when data is unchanged."""
        index_kwargs = {k: v for k, v in kwargs.items() if k not in ("device", "dtype")}
        return self._with_data(self.data.to(*args, **kwargs), **index_kwargs)

    def _target_device(self, *args, **kwargs):
        """The device that Tensor.to(*args, **kwargs) would move data to."""
        probe = terra.empty(0, dtype=self.data.dtype, device=self.data.device)
        return probe.to(*args, **kwargs).device

    def cuda(self, *args, **kwargs):
        if self._target_device(*args, **kwargs).type == "cuda":
            return self.to(*args, **kwargs)
        return self.to(*args, device="cuda", **kwargs)

    def cpu(self, *args, **kwargs):
        if self._target_device(*args, **kwargs).type == "cpu":
            return self.to(*args, **kwargs)
        return self.to(*args, device="cpu", **kwargs)

    def pin_memory(self):
        pin = lambda t: t.pin_memory()  # noqa: E731
        return type(self)(self.data.pin_memory(), self.batch_sizes,
                          _bind(self.sorted_indices, pin), _bind(self.unsorted_indices, pin))

    # dtype conversions go through data's own methods, so a dtype Terra lacks (half, short, char,
    # byte) raises the TypeError that Tensor.half() and friends raise.
    def double(self):
        return self._with_data(self.data.double())

    def float(self):
        return self._with_data(self.data.float())

    def half(self):
        return self._with_data(self.data.half())

    def long(self):
        return self._with_data(self.data.long())

    def int(self):
        return self._with_data(self.data.int())

    def short(self):
        return self._with_data(self.data.short())

    def char(self):
        return self._with_data(self.data.char())

    def byte(self):
        return self._with_data(self.data.byte())

    @property
    def is_cuda(self):
        """True if data is on a CUDA device."""
        return self.data.is_cuda

    def is_pinned(self):
        """True if data is in pinned memory."""
        return self.data.is_pinned()
