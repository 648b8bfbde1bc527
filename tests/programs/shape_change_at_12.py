"""Shape changes: batches have 16 rows, except 10 rows at step 12 alone and 24 rows from step 20
on, so a replayed run meets a new shape once (and must recover) and then a lasting one."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(22)
model = nn.Sequential(nn.Linear(4, 20), nn.ReLU(), nn.Linear(20, 20), nn.ReLU(), nn.Linear(20, 1))
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
for step in range(28):
    rows = 10 if step == 12 else 24 if step >= 20 else 16
    x = torch.from_numpy(rng.uniform(-2, 2, size=(rows, 4)).astype(np.float32))
    y = (x ** 2).sum(dim=1, keepdim=True).sqrt()
    loss = F.l1_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    report(f"step {step} rows {rows} loss", loss.item())
finish(model, opt)
