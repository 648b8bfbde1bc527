"""Regression with a small MLP, reading the loss with .item() every step (a sync point per step).

    python3 regression.py --steps 200            # PyTorch
    terra run --as-torch regression.py --steps 200   # Terra
"""
import numpy as np
import torch
import torch.nn as nn

import bench_support


def main():
    args = bench_support.argument_parser(__doc__.splitlines()[0], steps=300, warmup=20).parse_args()
    rng = np.random.default_rng(args.seed)
    samples, batch_size = 4096, 32
    x = rng.standard_normal((samples, 16)).astype(np.float32)
    y = (np.sin(x @ rng.standard_normal((16, 1))) + 0.3 * rng.standard_normal((samples, 1))).astype(np.float32)
    inputs, targets = torch.from_numpy(x).to(args.device), torch.from_numpy(y).to(args.device)
    model = bench_support.prepare(nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 1)), args)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    clock = bench_support.StepClock(args)
    running = None  # an exponential average of the losses read every step
    for step in clock:
        start = (step * batch_size) % samples
        batch = slice(start, start + batch_size)
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(inputs[batch]), targets[batch])
        loss.backward()
        optimizer.step()
        value = loss.item()
        running = value if running is None else 0.9 * running + 0.1 * value
    clock.report(running)


if __name__ == "__main__":
    main()
