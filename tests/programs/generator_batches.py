"""Batches from a generator whose own frame issues tensor ops (normalization and noise computed
inside the generator, resumed by the training loop at every step), a closure that captures the
model and computes the loss, and a generator expression that sums per-group losses."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(43)
data = torch.from_numpy(rng.standard_normal((96, 4)).astype(np.float32))
target = data @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]]) + 0.1


def batches(size):
    while True:
        for start in range(0, data.shape[0], size):
            x = data[start:start + size]
            x = (x - x.mean(dim=0)) / (x.std(dim=0) + 1e-3)  # ops in the generator's frame
            yield x, target[start:start + size]


def make_loss(model):
    def loss_of(x, y):
        out = model(x)
        return sum(F.mse_loss(out[i::2], y[i::2]) for i in range(2)) / 2

    return loss_of


model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
loss_of = make_loss(model)
stream = batches(16)
for step in range(24):
    x, y = next(stream)
    loss = loss_of(x, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 3 == 2:
        report(f"step {step} loss", loss.item())
finish(model, opt)
