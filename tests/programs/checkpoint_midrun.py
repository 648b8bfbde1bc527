"""A checkpoint saved and restored mid-run: an MLP trained with Adam writes its model and optimizer
state_dicts with torch.save to a temporary file at step 10, trains on, and at step 15 loads them
back (model.load_state_dict, optimizer.load_state_dict), so parameters and Adam's moments and step
counts jump back to step 10's values, and training goes on from there to the end."""
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(30)
model = nn.Sequential(nn.Linear(5, 24), nn.ReLU(), nn.Linear(24, 3))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
handle, path = tempfile.mkstemp(suffix=".pt")
os.close(handle)
try:
    for step in range(25):
        x = torch.from_numpy(rng.standard_normal((32, 5)).astype(np.float32))
        y = x[:, :3] * torch.tensor([1.0, -2.0, 0.5])
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        report(f"step {step} loss", loss.item())
        if step == 10:
            checkpoint = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step}
            torch.save(checkpoint, path)
        if step == 15:
            checkpoint = torch.load(path)
            model.load_state_dict(checkpoint["model"])
            opt.load_state_dict(checkpoint["optimizer"])
            report(f"restored step {checkpoint['step']} bias", model[2].bias.detach())
finally:
    os.remove(path)
finish(model, opt)
