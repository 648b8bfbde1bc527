"""Gradient clipping and a learning-rate schedule: clip_grad_norm_ returns the norm before
clipping (printed), StepLR halves the learning rate every five steps (printed with the loss)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(13)
x = torch.from_numpy(rng.standard_normal((40, 6)).astype(np.float32))
y = torch.from_numpy((3.0 * x.numpy()[:, :2]).astype(np.float32))
model = nn.Sequential(nn.Linear(6, 24), nn.Softplus(), nn.Linear(24, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.2)
schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
for step in range(25):
    loss = F.smooth_l1_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
    opt.step()
    report(f"step {step} lr {schedule.get_last_lr()[0]:g} norm {norm.item():.9g} loss", loss.item())
    schedule.step()
finish(model, opt)
