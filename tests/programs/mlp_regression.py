"""MLP regression on a fixed synthetic dataset: SGD with momentum, the loss printed every step."""
import torch
import torch.nn as nn

from _corpus import finish, report, seed

rng = seed(0)
x = torch.from_numpy(rng.standard_normal((64, 8)).astype("float32"))
y = torch.sin(x.sum(dim=1, keepdim=True)) + 0.1 * x[:, :1]

model = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
for step in range(25):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    report(f"step {step} loss", loss.item())
finish(model, opt)
