"""An inner `while` loop on a tensor value: a fixed-point layer z = tanh(W z + U x) is iterated
until the update is smaller than a tolerance (at most 12 times), so the number of unrolled steps,
printed every iteration, depends on the current weights and batch."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(8)
inject, mix, head = nn.Linear(6, 16), nn.Linear(16, 16, bias=False), nn.Linear(16, 2)
with torch.no_grad():
    mix.weight.mul_(0.5)
modules = nn.ModuleList([inject, mix, head])
opt = torch.optim.Adam(modules.parameters(), lr=5e-3)
for step in range(25):
    x = torch.from_numpy(rng.standard_normal((16, 6)).astype(np.float32))
    y = torch.from_numpy((x.numpy()[:, :2] > 0).argmax(axis=1))
    drive = inject(x)
    z = torch.zeros(16, 16)
    steps = 0
    change = 1.0
    while change > 1e-3 and steps < 12:
        z_next = torch.tanh(mix(z) + drive)
        change = (z_next - z).abs().max().item()
        z = z_next
        steps += 1
    loss = F.cross_entropy(head(z), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    report(f"step {step} inner steps {steps} loss", loss.item())
finish(modules, opt)
