"""An extra op every fifth step: on those steps an auxiliary activation penalty joins the loss
and, after the update, the first layer's rows are renormalized in place under no_grad."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(23)
lin1, lin2 = nn.Linear(5, 12), nn.Linear(12, 1)
opt = torch.optim.Adam(list(lin1.parameters()) + list(lin2.parameters()), lr=0.01)
for step in range(25):
    x = torch.from_numpy(rng.standard_normal((20, 5)).astype(np.float32))
    y = torch.from_numpy(rng.standard_normal((20, 1)).astype(np.float32)) * 0.1 + x[:, 2:3]
    h = torch.sigmoid(lin1(x))
    loss = F.mse_loss(lin2(h), y)
    fifth = step % 5 == 0
    if fifth:
        loss = loss + 0.01 * h.pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if fifth:
        with torch.no_grad():
            lin1.weight.div_(lin1.weight.norm(dim=1, keepdim=True).clamp(min=1.0))
    report(f"step {step} loss", loss.item())
finish(lin1, lin2, opt)
