"""An nn.LSTM (two layers, batch_first) over batches whose sequence length follows a fixed cycle
(5, 7, 5, 9, 7, 6): a handful of shapes recur again and again, in an irregular order, so a replay
has to keep one path per length and pick the right one each step. The model predicts each
sequence's cumulative sum at its last step; Adam updates it."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(32)
lstm = nn.LSTM(2, 10, num_layers=2, batch_first=True)
head = nn.Linear(10, 1)
opt = torch.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=0.01)
cycle = [5, 7, 5, 9, 7, 6]
for step in range(24):
    length = cycle[step % len(cycle)]
    seq = torch.from_numpy(rng.standard_normal((8, length, 2)).astype(np.float32))
    target = seq.sum(dim=(1, 2)).unsqueeze(1) / length
    out, (h, c) = lstm(seq)
    loss = F.mse_loss(head(out[:, -1]), target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    report(f"step {step} length {length} loss", loss.item())
finish(lstm, head, opt)
