"""Python object state mutated in the loop: a list of loss tensors grows every step (their mean
over the last five steps is printed), a dict of per-layer gradient norms is updated in place, and
attributes of the module change mid-run and change what forward computes: model.scale (used in
forward) drops to 0.5 at step 8, model.use_residual is set every step to step % 3 == 0 (a second
forward path), and the dropout's p goes from 0.0 to 0.2 at step 14."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(6, 12)
        self.mid = nn.Linear(12, 12)
        self.out = nn.Linear(12, 2)
        self.drop = nn.Dropout(p=0.0)
        self.scale = 1.0
        self.use_residual = False

    def forward(self, x):
        h = torch.relu(self.inp(x))
        m = self.drop(torch.tanh(self.mid(h))) * self.scale
        if self.use_residual:
            m = m + h
        return self.out(m)


rng = seed(33)
model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
losses = []
grad_norms = {}
for step in range(25):
    if step == 8:
        model.scale = 0.5
    if step == 14:
        model.drop.p = 0.2
    model.use_residual = step % 3 == 0
    x = torch.from_numpy(rng.standard_normal((16, 6)).astype(np.float32))
    y = torch.from_numpy(np.stack([x.numpy()[:, 0] * x.numpy()[:, 1], x.numpy()[:, 2]], axis=1))
    loss = F.mse_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    for name, layer in (("inp", model.inp), ("mid", model.mid), ("out", model.out)):
        grad_norms[name] = layer.weight.grad.norm()
    opt.step()
    losses.append(loss.detach())
    recent = torch.stack(losses[-5:]).mean()
    report(f"step {step} residual {model.use_residual} scale {model.scale} p {model.drop.p} loss",
           loss.item())
    report(f"step {step} recent {len(losses[-5:])}", recent.item())
    report(f"step {step} grad norms", [grad_norms[k].item() for k in sorted(grad_norms)])
finish(model, opt, torch.stack(losses))
