"""Per-op overhead: each step is a few hundred operations on 16x16 tensors (add, scalar add,
multiply, relu, views) with autograd, then one backward pass and an SGD update, so the cost is
almost all dispatch and bookkeeping, not arithmetic.

    python3 small_ops.py --steps 200            # PyTorch
    terra run --as-torch small_ops.py --steps 200   # Terra
"""
import numpy as np
import torch

import bench_support


def main():
    parser = bench_support.argument_parser(__doc__.splitlines()[0], steps=200, warmup=10)
    parser.add_argument("--depth", type=int, default=50, help="blocks of ops per step")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    weight = torch.from_numpy(rng.uniform(-0.5, 0.5, (16, 16)).astype(np.float32)).to(args.device)
    weight.requires_grad_(True)
    start = torch.from_numpy(rng.standard_normal((16, 16)).astype(np.float32)).to(args.device)
    clock = bench_support.StepClock(args)
    for _ in clock:
        h = start
        for _ in range(args.depth):
            h = torch.relu(h * weight + 0.1).view(256).view(16, 16) + h
            h = h * 0.5
        loss = (h * h).mean()
        loss.backward()
        with torch.no_grad():
            weight -= 0.01 * weight.grad
            weight.grad = None
    clock.report(loss)


if __name__ == "__main__":
    main()
