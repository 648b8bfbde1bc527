"""A path taken only at steps 7 and 15: those steps add an orthogonality penalty on the first
layer (new ops in the middle of the iteration) and print more; every other step is identical, so
a replayed run must fall back at 7 and 15 and recover afterwards."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(21)
x = torch.from_numpy(rng.standard_normal((32, 6)).astype(np.float32))
y = torch.from_numpy(rng.integers(0, 2, size=32))
model = nn.Sequential(nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(25):
    loss = F.cross_entropy(model(x), y)
    if step in (7, 15):
        w = model[0].weight
        penalty = ((w @ w.t() - torch.eye(6)) ** 2).sum()
        report(f"step {step} penalty", penalty.item())
        loss = loss + 0.01 * penalty
    opt.zero_grad()
    loss.backward()
    opt.step()
    report(f"step {step} loss", loss.item())
finish(model, opt)
