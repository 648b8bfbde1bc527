"""Branches on tensor predicates: `if (residual > 1.5).any():` adds a term for the outliers, and
`if dead.any():` (dead: hidden units that are zero on the whole batch) revives them in place under
no_grad; three units start dead."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(7)
lin1, lin2 = nn.Linear(4, 12), nn.Linear(12, 1)
with torch.no_grad():
    lin1.bias[:3] = -4.0
opt = torch.optim.SGD(list(lin1.parameters()) + list(lin2.parameters()), lr=0.05, momentum=0.5)
for step in range(25):
    x = torch.from_numpy(rng.standard_normal((24, 4)).astype(np.float32))
    y = (x[:, :1] * x[:, 1:2]).clamp(-2, 2)
    h = F.relu(lin1(x))
    pred = lin2(h)
    loss = F.mse_loss(pred, y)
    residual = (pred - y).abs()
    if (residual > 1.5).any():
        loss = loss + 0.5 * residual[residual > 1.5].mean()
        report(f"step {step} outliers", int((residual > 1.5).sum().item()))
    opt.zero_grad()
    loss.backward()
    opt.step()
    dead = (h <= 0).all(dim=0)
    if dead.any():
        with torch.no_grad():
            lin1.bias[dead] = 0.1
        report(f"step {step} revived", int(dead.sum().item()))
    report(f"step {step} loss", loss.item())
finish(lin1, lin2, opt)
