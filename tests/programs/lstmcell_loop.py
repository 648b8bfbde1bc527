"""An nn.LSTMCell stepped by a Python loop over time: each iteration's sequence length comes from
a numpy RNG, so the loop's trip count (and the traced op sequence) changes from step to step.
The model learns the running mean of its inputs; RMSprop updates it."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(4)
cell = nn.LSTMCell(3, 20)
head = nn.Linear(20, 1)
params = list(cell.parameters()) + list(head.parameters())
opt = torch.optim.RMSprop(params, lr=3e-3, alpha=0.9)
for step in range(25):
    length = int(rng.integers(3, 9))
    seq = torch.from_numpy(rng.standard_normal((length, 4, 3)).astype(np.float32))
    h, c = torch.zeros(4, 20), torch.zeros(4, 20)
    loss = 0.0
    for t in range(length):
        h, c = cell(seq[t], (h, c))
        target = seq[: t + 1].mean(dim=(0, 2)).unsqueeze(1)
        loss = loss + F.mse_loss(head(h), target)
    loss = loss / length
    opt.zero_grad()
    loss.backward()
    opt.step()
    report(f"step {step} length {length} loss", loss.item())
finish(cell, head, opt)
