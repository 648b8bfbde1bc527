"""A data-dependent branch on a fetched value: `if loss.item() > threshold` adds an L1 penalty
on the noisy batches and leaves it out on the others, so the two paths
interleave irregularly."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(6)
model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
weights = torch.from_numpy(rng.standard_normal((5, 1)).astype(np.float32))
for step in range(30):
    x = torch.from_numpy(rng.standard_normal((32, 5)).astype(np.float32))
    noise = float(rng.choice([0.1, 2.0]))
    y = x @ weights + noise * torch.randn(32, 1)
    loss = F.mse_loss(model(x), y)
    if loss.item() > 3.0:
        penalty = sum(p.abs().sum() for p in model.parameters())
        total = loss + 1e-3 * penalty
        path = "penalized"
    else:
        total = loss
        path = "plain"
    opt.zero_grad()
    total.backward()
    opt.step()
    report(f"step {step} {path} loss", total.item())
finish(model, opt)
