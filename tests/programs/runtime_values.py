"""Values that change every step flowing into ops as Python numbers: a clamp bound read from the
previous loss with .item(), a view whose size comes from x.shape, a scale computed in Python,
factory ops inside the loop (torch.randn from the random stream, arange, zeros_like, full, eye,
linspace) and a torch.cat of a list whose length cycles."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(67)
model = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.03)
bound = 1.0
for step in range(24):
    x = torch.from_numpy(rng.standard_normal((4, 2, 4)).astype(np.float32))
    x = x.view(x.shape[0], -1)  # the size from the tensor's shape
    noise = torch.randn(x.shape) * 0.01
    ramp = torch.arange(8, dtype=torch.float32) / 8 + torch.linspace(0, 1, 8)
    mix = torch.eye(8) * (1 + 0.1 * math.sin(step)) + torch.full((8, 8), 0.01)
    parts = [x[:, i:i + 2] for i in range(0, 8, 2)][: 2 + step % 3]
    extra = torch.cat(parts, dim=1).sum(dim=1, keepdim=True)
    inputs = (x + noise + ramp) @ mix
    target = (extra + torch.zeros_like(extra)).clamp(min=-bound, max=bound)
    loss = F.mse_loss(model(inputs), target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    bound = max(0.2, loss.item())
    report(f"step {step} parts {len(parts)} loss", loss.item())
finish(model, opt)
