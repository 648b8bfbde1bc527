"""Adversarial training: each step makes a leaf perturbation inside the loop
(zeros_like(..., requires_grad=True)), runs a first backward() to read its gradient, steps the
input along the gradient's sign (FGSM), then trains on the perturbed batch with a gradient penalty
from torch.autograd.grad(create_graph=True) (a second-order backward, as in WGAN-GP)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(71)
model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(24):
    x = torch.from_numpy(rng.standard_normal((20, 4)).astype(np.float32))
    labels = torch.from_numpy((x[:, 0] > 0).long().numpy() + (x[:, 1] > 0.5).long().numpy())
    delta = torch.zeros_like(x, requires_grad=True)
    F.cross_entropy(model(x + delta), labels).backward()
    x_adv = (x + 0.05 * delta.grad.sign()).requires_grad_(True)
    logits = model(x_adv)
    loss = F.cross_entropy(logits, labels)
    (grad_x,) = torch.autograd.grad(logits.logsumexp(dim=1).sum(), x_adv, create_graph=True)
    penalty = ((grad_x.norm(dim=1) - 1) ** 2).mean()
    opt.zero_grad()
    (loss + 0.1 * penalty).backward()
    opt.step()
    if step % 3 == 0:
        report(f"step {step} loss", loss.item())
        report(f"step {step} penalty", penalty.item())
        report(f"step {step} delta grad mean", delta.grad.abs().mean().item())
finish(model, opt)
