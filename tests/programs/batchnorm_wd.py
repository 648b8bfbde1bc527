"""BatchNorm in train mode (running statistics updated in place every forward) with SGD using
weight decay and Nesterov momentum; the running mean's sum is printed every fifth step."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(20)
model = nn.Sequential(nn.Linear(8, 24), nn.BatchNorm1d(24), nn.ReLU(), nn.Linear(24, 3))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
centers = rng.standard_normal((3, 8)).astype(np.float32)
for step in range(25):
    labels = rng.integers(0, 3, size=20)
    x = torch.from_numpy(centers[labels] + 3.0 + rng.standard_normal((20, 8)).astype(np.float32))
    loss = F.cross_entropy(model(x), torch.from_numpy(labels))
    opt.zero_grad()
    loss.backward()
    opt.step()
    report(f"step {step} loss", loss.item())
    if step % 5 == 0:
        report("  running mean sum", model[1].running_mean.sum().item())
finish(model, opt)
