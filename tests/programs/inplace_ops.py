"""In-place ops on activations and buffers: mul_, add_, masked_fill_, clamp_ and relu_ on hidden
activations inside the autograd graph, a class-count buffer updated with index_add_ and a
running feature mean updated with mul_/add_ under no_grad."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed


class InplaceNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin1 = nn.Linear(5, 16)
        self.lin2 = nn.Linear(16, 4)
        self.register_buffer("class_counts", torch.zeros(4))
        self.register_buffer("feature_mean", torch.zeros(16))

    def forward(self, x, drop):
        h = self.lin1(x)
        h.mul_(1.5)
        h.add_(0.1)
        h.masked_fill_(drop, 0.0)
        h.clamp_(max=3.0)
        h.relu_()  # last: relu's backward reads its output, which must not change afterwards
        with torch.no_grad():
            self.feature_mean.mul_(0.9).add_(h.mean(dim=0), alpha=0.1)
        return self.lin2(h)


rng = seed(11)
model = InplaceNet()
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(25):
    x = torch.from_numpy(rng.standard_normal((12, 5)).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 4, size=12))
    drop = torch.from_numpy(rng.random((12, 16)) < 0.2)
    loss = F.cross_entropy(model(x, drop), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        model.class_counts.index_add_(0, y, torch.ones(12))
    report(f"step {step} loss", loss.item())
report("class counts", model.class_counts)
finish(model, opt)
