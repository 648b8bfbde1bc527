"""Tensors printed every k=4 steps (print(tensor) reprs of small tensors: a weight slice, a 0-dim
loss, an integer tensor of predictions) beside report()ed values, and an inner
`while loss.item() > threshold and inner < 3:` loop that takes extra steps on the same batch while
its loss stays high, so the number of optimizer steps per iteration depends on fetched values."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(34)
model = nn.Sequential(nn.Linear(4, 12), nn.ReLU(), nn.Linear(12, 3))
opt = torch.optim.Adam(model.parameters(), lr=0.02)
threshold = 0.6
k = 4
for step in range(25):
    x = torch.from_numpy(rng.standard_normal((20, 4)).astype(np.float32))
    y = torch.from_numpy(np.argmax(x.numpy()[:, :3] + 0.5 * x.numpy()[:, 3:], axis=1))
    loss = F.cross_entropy(model(x), y)
    inner = 0
    while loss.item() > threshold and inner < 3:
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss = F.cross_entropy(model(x), y)
        inner += 1
    opt.zero_grad()
    loss.backward()
    opt.step()
    report(f"step {step} inner {inner} loss", loss.item())
    if step % k == 0:
        print(model[2].weight[:2, :3].detach())
        print(loss.detach())
        print(model(x[:6]).argmax(dim=1))
        report(f"step {step} bias", model[2].bias.detach())
finish(model, opt)
