"""Ops reached through Python builtins and the standard library inside the loop: sum() of a list of
per-chunk losses (the builtin adds tensors from C), map() with a lambda over the parameters,
sorted() keyed on .item(), functools.reduce, zip and enumerate over torch.split, isinstance and
getattr on modules, and min() comparing 0-dim tensors."""
import functools

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(47)
model = nn.Sequential(nn.Linear(5, 9), nn.Sigmoid(), nn.Linear(9, 2))
opt = torch.optim.Adam(model.parameters(), lr=0.02)
for step in range(24):
    x = torch.from_numpy(rng.standard_normal((18, 5)).astype(np.float32))
    y = torch.stack([x[:, 0] - x[:, 1], x[:, 2] * 0.5], dim=1)
    out = model(x)
    chunks = list(zip(torch.split(out, 6), torch.split(y, 6)))
    losses = [F.mse_loss(o, t) for o, t in chunks]
    loss = sum(losses) / len(losses)
    norms = list(map(lambda p: p.pow(2).sum(), model.parameters()))
    penalty = functools.reduce(lambda a, b: a + b, norms) * 1e-3
    opt.zero_grad()
    (loss + penalty).backward()
    opt.step()
    worst = sorted(enumerate(losses), key=lambda pair: pair[1].item())[-1][0]
    smallest = min(losses)
    layers = sum(1 for m in model if isinstance(m, nn.Linear))
    bias_mean = getattr(model[2], "bias").mean()
    if step % 4 == 1:
        report(f"step {step} loss", loss.item())
        report(f"step {step} worst {worst} layers {layers} smallest", smallest.item())
        report(f"step {step} bias mean", bias_mean.item())
finish(model, opt)
