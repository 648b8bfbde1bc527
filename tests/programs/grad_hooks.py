"""Tensor hooks that run Python inside backward(): one halves a hidden activation's gradient (ops
issued from the hook's own line, between the engine's gradient ops), one reads the last layer's
weight gradient norm with .item() (a fetch in the middle of backward) and rescales the gradient
when the norm is large, a branch on that value."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(37)
model = nn.Sequential(nn.Linear(5, 12), nn.Tanh(), nn.Linear(12, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
norms = []


def rescale_large(grad):
    norm = grad.norm().item()
    norms.append(norm)
    return grad * (0.5 / norm) if norm > 0.5 else None


model[2].weight.register_hook(rescale_large)
for step in range(24):
    x = torch.from_numpy(rng.standard_normal((16, 5)).astype(np.float32))
    y = x[:, :1] * 2 - x[:, 1:2]
    hidden = model[1](model[0](x))
    hidden.register_hook(lambda grad: grad * 0.5)
    loss = F.mse_loss(model[2](hidden), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 4 == 3:
        report(f"step {step} loss", loss.item())
report("norms above 0.5", sum(n > 0.5 for n in norms))
report("last norms", norms[-3:])
finish(model, opt)
