"""Tensors kept across iterations in Python containers: a list of the last three detached
predictions (their mean is a consistency target), a dict of exponential moving averages of the
parameters (updated with lerp_), and a list of per-step loss tensors stacked at the end."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(19)
x = torch.from_numpy(rng.standard_normal((30, 5)).astype(np.float32))
y = torch.from_numpy(rng.standard_normal((30, 2)).astype(np.float32))
model = nn.Sequential(nn.Linear(5, 16), nn.SiLU(), nn.Linear(16, 2))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
averages = {name: p.detach().clone() for name, p in model.named_parameters()}
recent, losses = [], []
for step in range(25):
    pred = model(x)
    loss = F.mse_loss(pred, y)
    if recent:
        loss = loss + 0.1 * F.mse_loss(pred, torch.stack(recent).mean(dim=0))
    opt.zero_grad()
    loss.backward()
    opt.step()
    recent = (recent + [pred.detach()])[-3:]
    losses.append(loss.detach())
    with torch.no_grad():
        for name, p in model.named_parameters():
            averages[name].lerp_(p, 0.2)
    if step % 4 == 0:
        report(f"step {step} loss", loss.item())
report("best step", int(torch.stack(losses).argmin().item()))
finish(model, opt, torch.stack(losses), *averages.values())
