"""Switching modes inside the loop: every fifth step the model goes to eval() (dropout off,
BatchNorm on running statistics) for a validation pass under no_grad, then back to train()."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(25)
weights = rng.standard_normal((6, 1)).astype(np.float32)
x_val = torch.from_numpy(rng.standard_normal((40, 6)).astype(np.float32))
y_val = x_val @ torch.from_numpy(weights)
model = nn.Sequential(nn.Linear(6, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 1))
opt = torch.optim.AdamW(model.parameters(), lr=0.01)
for step in range(25):
    x = torch.from_numpy(rng.standard_normal((16, 6)).astype(np.float32))
    loss = F.mse_loss(model(x), x @ torch.from_numpy(weights))
    opt.zero_grad()
    loss.backward()
    opt.step()
    report(f"step {step} loss", loss.item())
    if step % 5 == 4:
        model.eval()
        with torch.no_grad():
            report("  validation loss", F.mse_loss(model(x_val), y_val).item())
        model.train()
finish(model, opt)
