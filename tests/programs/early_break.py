"""Leaving the loop early: a `continue` skips the update on batches a numpy coin marks as
corrupt, and a `break` ends training once a moving average of the fetched losses falls below a
target (the loop allows 200 steps)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(16)
model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
average = None
for step in range(200):
    x = torch.from_numpy(rng.standard_normal((16, 3)).astype(np.float32))
    y = x[:, :1] - 0.5 * x[:, 1:2]
    if rng.random() < 0.15:
        report(f"step {step} skipped", "corrupt batch")
        continue
    loss = F.mse_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    average = loss.item() if average is None else 0.7 * average + 0.3 * loss.item()
    report(f"step {step} loss", loss.item())
    if average < 0.1:
        report("stopped at step", step)
        break
finish(model, opt)
