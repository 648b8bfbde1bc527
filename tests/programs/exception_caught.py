"""Exceptions raised and caught inside the loop: every fourth step a probe feeds the model a
batch of the wrong width after some ops have run (the RuntimeError is caught and only its type
printed), and a user check raises ValueError from a fetched value on some steps."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(15)
model = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 3))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(25):
    x = torch.from_numpy(rng.standard_normal((16, 6)).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 3, size=16))
    if step % 4 == 1:
        try:
            scaled = x * 2.0 + 1.0
            model(scaled[:, :5])
        except RuntimeError as error:
            report(f"step {step} caught", type(error).__name__)
    try:
        logits = model(x)
        margin = (logits.max(dim=1).values - logits.min(dim=1).values).mean()
        if margin.item() > 1.2:
            raise ValueError("margin too large")
        loss = F.cross_entropy(logits, y)
    except ValueError as error:
        report(f"step {step} caught", error)
        loss = F.cross_entropy(logits, y) + 0.1 * margin
    opt.zero_grad()
    loss.backward()
    opt.step()
    report(f"step {step} loss", loss.item())
finish(model, opt)
