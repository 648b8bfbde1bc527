"""Gradient accumulation: each step runs backward() on four micro-batches (the innermost loop
around backward is not the training step) before one optimizer step; the micro-batch count is
three on every seventh step."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(24)
model = nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.Linear(16, 2))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(25):
    micro_batches = 3 if step % 7 == 6 else 4
    opt.zero_grad()
    total = 0.0
    for _ in range(micro_batches):
        x = torch.from_numpy(rng.standard_normal((8, 6)).astype(np.float32))
        y = torch.stack([x[:, 0] * x[:, 1], x[:, 2].abs()], dim=1)
        loss = F.mse_loss(model(x), y) / micro_batches
        loss.backward()
        total += loss.item()
    opt.step()
    report(f"step {step} micro-batches {micro_batches} loss", total)
finish(model, opt)
