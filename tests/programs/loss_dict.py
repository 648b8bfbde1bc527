"""Losses kept in a dict and weighted by a generator expression inside sum() (ops in a genexpr
frame, added from C), the activation picked by name with getattr(F, ...) from a list that cycles,
a loss weight changed in the dict mid-run, and the first layer frozen with requires_grad_(False)
at step 12 (the autograd graph changes inside the loop)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(89)
first, second = nn.Linear(6, 12), nn.Linear(12, 2)
opt = torch.optim.SGD(list(first.parameters()) + list(second.parameters()), lr=0.05, momentum=0.5)
weights = {"mse": 1.0, "l1": 0.5, "smooth": 0.25}
activations = ["relu", "tanh", "sigmoid"]
for step in range(27):
    x = torch.from_numpy(rng.standard_normal((10, 6)).astype(np.float32))
    y = torch.stack([x[:, 0].sin(), x[:, 1] * x[:, 2]], dim=1)
    act = getattr(torch, activations[step % 3]) if activations[step % 3] != "relu" else F.relu
    out = second(act(first(x)))
    losses = {"mse": F.mse_loss(out, y), "l1": F.l1_loss(out, y), "smooth": F.smooth_l1_loss(out, y)}
    total = sum(weights[name] * value for name, value in losses.items())
    opt.zero_grad()
    total.backward()
    opt.step()
    if step == 9:
        weights["l1"] = 0.0
    if step == 12:
        first.requires_grad_(False)
    report(f"step {step} {activations[step % 3]} total", total.item())
finish(first, second, opt)
