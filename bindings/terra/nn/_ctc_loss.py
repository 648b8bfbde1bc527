"""nn.functional.ctc_loss: the connectionist temporal classification loss, PyTorch 1.13's
arguments, checks and reductions, composed from registry ops so autograd differentiates it.

The loss of a sample is -log of the summed probability of every alignment of its target with
its input: the forward (alpha) recursion over the extended target (blank, l1, blank, l2, ...,
blank), one log-sum-exp per time step. Unreachable states hold the finite NEG rather than -inf,
so that the gradients of log-sum-exp over them are exact zeros instead of NaN; a final value
near NEG means "no alignment" and becomes an infinite loss, as in PyTorch.

PyTorch's backward returns exp(log_probs) - (alignment posteriors): the gradient with respect to
the logits of a log_softmax, not with respect to log_probs. The two agree through a log_softmax
(the usual input); for other inputs, a term that is zero in value and has gradient exp(log_probs)
over each sample's valid time steps makes Terra's gradient PyTorch's too.
"""

import numpy as np

import terra
from . import _reduction as _Reduction

Tensor = terra._C.Tensor

__all__ = ["ctc_loss"]

NEG = -1e30  # log of "unreachable"; far below any real log-probability of an alignment


def _as_int_list(lengths, name):
    if isinstance(lengths, Tensor):
        if lengths.is_floating_point():
            raise RuntimeError(f"ctc_loss(): {name} must be integers, got {lengths.dtype}")
        return [int(x) for x in lengths.reshape(-1).tolist()]
    if isinstance(lengths, int):
        return [lengths]
    return [int(x) for x in lengths]


def _size_error(expected, dim, got, relation="have size"):
    return RuntimeError(f"Expected tensor to {relation} {expected} at dimension {dim}, but got "
                        f"size {got} for argument #2 'targets' (while checking arguments for "
                        "ctc_loss_cpu)")


def _check_arguments(log_probs, targets, input_lengths, target_lengths, blank):
    if log_probs.dim() != 3:
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {log_probs.dim()}-dimensional "
                           "tensor for argument #1 'log_probs' (while checking arguments for "
                           "ctc_loss_cpu)")
    if not log_probs.is_floating_point():
        raise RuntimeError(f"\"ctc_loss_cpu\" not implemented for '{log_probs.dtype}' log_probs: "
                           "expected floating point log-probabilities")
    max_input_length, batch_size, num_labels = log_probs.shape
    if not 0 <= blank < num_labels:
        raise RuntimeError("blank must be in label range")
    if len(input_lengths) != batch_size:
        raise RuntimeError("input_lengths must be of size batch_size")
    if len(target_lengths) != batch_size:
        raise RuntimeError("target_lengths must be of size batch_size")
    if any(length < 0 for length in target_lengths):
        raise RuntimeError(f"ctc_loss(): target_lengths must be non-negative, got {target_lengths}")
    for length in input_lengths:
        if length > max_input_length:
            raise RuntimeError(f"Expected input_lengths to have value at most {max_input_length}, "
                               f"but got value {length} (while checking arguments for "
                               "ctc_loss_cpu)")
    if targets.dim() == 2:
        if targets.size(0) != batch_size:
            raise _size_error(batch_size, 0, targets.size(0))
        if targets.size(1) < max(target_lengths, default=0):
            raise _size_error(max(target_lengths), 1, targets.size(1), "have size at least")
    elif targets.dim() == 1:
        if targets.size(0) != sum(target_lengths):
            raise _size_error(sum(target_lengths), 0, targets.size(0))
    else:
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {targets.dim()}-dimensional "
                           "tensor for argument #2 'targets' (while checking arguments for "
                           "ctc_loss_cpu)")


def _padded_targets(targets, target_lengths, blank, device):
    """The targets as an (N, S) int64 tensor, S the longest target, padded with `blank`."""
    lengths = np.asarray(target_lengths, dtype=np.int64)
    S = int(lengths.max(initial=0))
    valid = np.arange(S)[None, :] < lengths[:, None]
    if targets.dim() == 2:
        labels = targets[:, :S]
    else:  # concatenated: sample n's labels start after the earlier samples' labels
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        index = np.where(valid, starts[:, None] + np.arange(S)[None, :], 0)
        labels = targets.index_select(0, terra.tensor(index.reshape(-1), device=device))
        labels = labels.reshape(len(lengths), S)
    # Padding may hold anything (-1, out-of-range ids): it becomes blank.
    return terra.where(terra.tensor(valid, device=device), labels.long(), blank)


def _extended_targets(labels, blank):
    """(blank, l1, blank, l2, ..., lS, blank) for each row of labels (N, S): (N, 2S + 1)."""
    N, S = labels.shape
    blanks = terra.full((N, S), blank, dtype=terra.int64, device=labels.device)
    interleaved = terra.stack([blanks, labels], dim=2).reshape(N, 2 * S)
    final_blank = terra.full((N, 1), blank, dtype=terra.int64, device=labels.device)
    return terra.cat([interleaved, final_blank], dim=1)


def _skip_allowed(extended, blank):
    """Where state s may also be entered from s - 2: a label differing from the one before it."""
    N = extended.size(0)
    allowed = (extended[:, 2:] != blank) & (extended[:, 2:] != extended[:, :-2])
    return terra.cat([terra.zeros((N, min(2, extended.size(1))), dtype=terra.bool,
                                  device=extended.device), allowed], dim=1)


def _shift_right(alpha, steps):
    """alpha moved `steps` states to the right, NEG entering on the left."""
    N, L = alpha.shape
    pad = terra.full((N, min(steps, L)), NEG, dtype=alpha.dtype, device=alpha.device)
    return terra.cat([pad, alpha[:, :L - steps]], dim=1) if steps < L else pad


def _alignment_log_likelihood(lp_ext, skip_allowed, input_lengths, target_lengths):
    """log p(target | input) per sample (NEG-ish when no alignment exists); lp_ext[t, n, s] is
    the log-probability of extended label s of sample n at time t."""
    T, N, L = lp_ext.shape
    device = lp_ext.device
    # Before time 0 only the initial blank counts as reached (log 1), so that step 0 is an
    # ordinary step: it reaches the blank and the first label.
    start = np.full((N, L), NEG)
    start[:, 0] = 0.0
    alpha = terra.tensor(start, dtype=lp_ext.dtype, device=device)
    lengths = terra.tensor(input_lengths, device=device).unsqueeze(1)
    shortest = min(input_lengths, default=0)
    for t in range(max(input_lengths, default=0)):
        from_skip = terra.where(skip_allowed, _shift_right(alpha, 2), NEG)
        candidates = terra.stack([alpha, _shift_right(alpha, 1), from_skip], dim=0)
        new_alpha = candidates.logsumexp(0) + lp_ext[t]
        # Samples whose input has ended keep their alpha.
        alpha = new_alpha if t < shortest else terra.where(t < lengths, new_alpha, alpha)
    # An alignment ends in the last label or the final blank.
    last = np.asarray(target_lengths, dtype=np.int64) * 2
    ends = terra.tensor(np.stack([last, np.maximum(last - 1, 0)], axis=1), device=device)
    has_label = terra.tensor(np.stack([last >= 0, last > 0], axis=1), device=device)
    end_alpha = terra.where(has_label, alpha.gather(1, ends), NEG)
    return end_alpha.logsumexp(1)


def _pytorch_gradient_term(log_probs, input_lengths):
    """Per sample: zero in value, gradient exp(log_probs) at its time steps t < input length."""
    T = log_probs.size(0)
    valid = np.arange(T)[:, None] < np.asarray(input_lengths)[None, :]
    weight = log_probs.detach().exp() * terra.tensor(valid, dtype=log_probs.dtype,
                                                     device=log_probs.device).unsqueeze(2)
    # Entries of weight 0 (log_probs = -inf included) must not turn into 0 * inf = NaN.
    finite_lp = terra.where(weight > 0, log_probs, 0.0)
    total = (weight * finite_lp).sum(dim=(0, 2))
    return total - total.detach()


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """log_probs (T, N, C) or unbatched (T, C); targets padded (N, S) or concatenated
    (sum(target_lengths)); lengths as tensors, sequences or (unbatched) ints. 'mean' divides
    each loss by its target length (at least 1) before averaging; zero_infinity makes the
    losses of impossible alignments, and their gradients, zero."""
    _Reduction.get_enum(reduction)  # ValueError for an unknown reduction
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0)
    input_lengths = _as_int_list(input_lengths, "input_lengths")
    target_lengths = _as_int_list(target_lengths, "target_lengths")
    _check_arguments(log_probs, targets, input_lengths, target_lengths, blank)

    device = log_probs.device
    extended = _extended_targets(_padded_targets(targets, target_lengths, blank, device), blank)
    T, N, _ = log_probs.shape
    # Clamped: a log-probability of -inf would turn NEG arithmetic back into NaN gradients.
    lp_ext = log_probs.gather(2, extended.unsqueeze(0).expand(T, N, extended.size(1)))
    lp_ext = lp_ext.clamp(min=NEG)
    log_likelihood = _alignment_log_likelihood(lp_ext, _skip_allowed(extended, blank),
                                               input_lengths, target_lengths)
    impossible = log_likelihood < NEG / 2
    losses = terra.where(impossible, float("inf"), -log_likelihood)
    losses = losses + _pytorch_gradient_term(log_probs, input_lengths)
    if zero_infinity:
        losses = terra.where(impossible, 0.0, losses)

    if reduction == "none":
        return losses.squeeze(0) if unbatched else losses
    if reduction == "sum":
        return losses.sum()
    lengths = terra.tensor(target_lengths, dtype=losses.dtype, device=device).clamp(min=1)
    return (losses / lengths).mean()
