"""A model returning a dict of heads, losses kept in a dict and summed, per-head losses printed
every third step, Adagrad updates; the classification head is frozen (requires_grad_(False))
from step 15 on, which changes which gradients the backward pass computes."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(5, 20), nn.ReLU())
        self.heads = nn.ModuleDict({"value": nn.Linear(20, 1), "label": nn.Linear(20, 3)})

    def forward(self, x):
        shared = self.trunk(x)
        return {name: head(shared) for name, head in self.heads.items()}


rng = seed(26)
model = TwoHeads()
opt = torch.optim.Adagrad(model.parameters(), lr=0.05)
for step in range(25):
    if step == 15:
        model.heads["label"].requires_grad_(False)
    x = torch.from_numpy(rng.standard_normal((18, 5)).astype(np.float32))
    out = model(x)
    losses = {
        "value": F.mse_loss(out["value"], x[:, :2].sum(dim=1, keepdim=True)),
        "label": F.cross_entropy(out["label"], torch.from_numpy(np.argmax(x.numpy()[:, :3], axis=1))),
    }
    total = sum(losses.values())
    opt.zero_grad()
    total.backward()
    opt.step()
    if step % 3 == 0:
        report(f"step {step} losses", [losses[name].item() for name in sorted(losses)])
finish(model, opt)
