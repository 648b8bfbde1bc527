"""One layer and direction of nn.RNN, nn.LSTM or nn.GRU over a PackedSequence.

At time step t only the first batch_sizes[t] sequences (sorted by decreasing length) advance.
Each run of steps with one batch size goes to the layer's padded per-step loop (rnn.py)
unchanged, so the packed and padded paths share the cell code. Between runs the state shrinks to
the sequences still running (forward: the others have reached their last step, their state is
final) or grows by the initial state of the sequences that join (reverse: each sequence starts at
its own last step).
"""
from ..._C import _ops

__all__ = ["recur_packed"]


def _runs(batch_sizes):
    """(start, end, batch) for each maximal run of steps with the same batch size."""
    runs = []
    start = 0
    for t in range(1, len(batch_sizes) + 1):
        if t == len(batch_sizes) or batch_sizes[t] != batch_sizes[start]:
            runs.append((start, t, batch_sizes[start]))
            start = t
    return runs


def _rows(state, start, count):
    return tuple(_ops.narrow(s, 0, start, count) for s in state)


def recur_packed(recur, steps, batch_sizes, state, reverse):
    """Runs recur(steps, state, reverse) -> (outputs, state), a padded loop over steps of one
    batch size, over the packed steps: steps[t] is step t's input projection (batch_sizes[t], G);
    state is a tuple of (batch_sizes[0], H) tensors, the initial state in sorted order. Returns
    (each step's output in time order, the final state in sorted order: every sequence's state
    after its last step, or after step 0 when reverse)."""
    runs = _runs(batch_sizes)
    outputs = [None] * len(steps)
    if reverse:
        initial = state
        running = runs[-1][2]
        if running < batch_sizes[0]:
            state = _rows(initial, 0, running)
        for start, end, batch in reversed(runs):
            if running < batch:
                joining = _rows(initial, running, batch - running)
                state = tuple(_ops.cat([s, j], 0) for s, j in zip(state, joining))
                running = batch
            outputs[start:end], state = recur(steps[start:end], state, True)
        return outputs, state

    finished = []  # final states of the sequences that have ended, the shortest first
    running = batch_sizes[0]
    for start, end, batch in runs:
        if batch < running:
            finished.append(_rows(state, batch, running - batch))
            state = _rows(state, 0, batch)
            running = batch
        outputs[start:end], state = recur(steps[start:end], state, False)
    if finished:
        parts = [state] + finished[::-1]
        state = tuple(_ops.cat(list(rows), 0) for rows in zip(*parts))
    return outputs, state
