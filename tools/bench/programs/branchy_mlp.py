"""An MLP whose forward pass takes one of two paths depending on the data (a Python `if` on a
tensor value), with numpy producing each step's batch and the learning rate.

    python3 branchy_mlp.py --steps 300            # PyTorch
    terra run --as-torch branchy_mlp.py --steps 300   # Terra
"""
import numpy as np
import torch
import torch.nn as nn

import bench_support


class BranchyMLP(nn.Module):
    def __init__(self, features=32, hidden=64):
        super().__init__()
        self.embed = nn.Linear(features, hidden)
        self.deep = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.shallow = nn.Linear(hidden, hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        h = torch.relu(self.embed(x))
        if h.mean().item() > 0.25:  # data-dependent: both paths are taken during training
            h = h + self.deep(h)
        else:
            h = self.shallow(h)
        return self.head(h)


def main():
    args = bench_support.argument_parser(__doc__.splitlines()[0], steps=300, warmup=20).parse_args()
    rng = np.random.default_rng(args.seed)
    true_weights = rng.standard_normal((32, 1))
    model = bench_support.prepare(BranchyMLP(), args)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    clock = bench_support.StepClock(args)
    for step in clock:
        scale = rng.uniform(0.5, 2.0)
        x = (scale * rng.standard_normal((64, 32))).astype(np.float32)
        y = np.tanh(x @ true_weights).astype(np.float32)
        for group in optimizer.param_groups:
            group["lr"] = float(0.01 * np.cos(np.pi * step / (2 * (args.warmup + args.steps))))
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(torch.from_numpy(x).to(args.device)), torch.from_numpy(y).to(args.device))
        loss.backward()
        optimizer.step()
    clock.report(loss)


if __name__ == "__main__":
    main()
