"""MLP classification of three Gaussian blobs with cross-entropy and Adam: minibatches picked by
a numpy RNG (a new feed each step), held-out accuracy printed every fifth step."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(1)
centers = rng.standard_normal((3, 6)) * 2.0
labels = rng.integers(0, 3, size=240)
points = centers[labels] + rng.standard_normal((240, 6))
x = torch.from_numpy(points.astype(np.float32))
y = torch.from_numpy(labels)
x_train, y_train, x_test, y_test = x[:200], y[:200], x[200:], y[200:]

model = nn.Sequential(nn.Linear(6, 24), nn.ReLU(), nn.Linear(24, 3))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(30):
    idx = torch.from_numpy(rng.choice(200, size=32, replace=False))
    loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()
    report(f"step {step} loss", loss.item())
    if step % 5 == 4:
        with torch.no_grad():
            accuracy = (model(x_test).argmax(dim=1) == y_test).float().mean()
        report("  held-out accuracy", accuracy.item())
finish(model, opt)
