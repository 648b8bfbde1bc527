"""Dropout in train mode, as a module and as F.dropout: the masks come from Terra's random
stream, so eager and replayed runs must draw the same ones from the same seed."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(12)
x = torch.from_numpy(rng.standard_normal((48, 10)).astype(np.float32))
y = torch.from_numpy((x.numpy()[:, :3].sum(axis=1) > 0).astype(np.int64))
model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for step in range(25):
    logits = model(F.dropout(x, p=0.1, training=True))
    loss = F.cross_entropy(logits, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    report(f"step {step} loss", loss.item())
finish(model, opt)
