"""The model grows mid-run: at step 10 a layer is appended to a ModuleList and its parameters
join the optimizer through add_param_group (with their own learning rate); at step 18 the
first group's learning rate is halved through param_groups."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(97)


class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(5, 5)])
        self.head = nn.Linear(5, 1)

    def forward(self, x):
        for layer in self.layers:
            x = torch.tanh(layer(x)) + x
        return self.head(x)


model = Stack()
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(26):
    x = torch.from_numpy(rng.standard_normal((12, 5)).astype(np.float32))
    y = x.sum(dim=1, keepdim=True).cos()
    loss = F.mse_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step == 10:
        layer = nn.Linear(5, 5)
        model.layers.append(layer)
        opt.add_param_group({"params": layer.parameters(), "lr": 0.02})
    if step == 18:
        opt.param_groups[0]["lr"] *= 0.5
    report(f"step {step} layers {len(model.layers)} loss", loss.item())
finish(model, opt)
