"""The CNN of examples/digits_cnn.py (its dropout set to 0) trained with Adam on scikit-learn's 8x8
digits, minibatches drawn by a numpy permutation per epoch.

    python3 digits_cnn.py --steps 200            # PyTorch
    terra run --as-torch digits_cnn.py --steps 200   # Terra
"""
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

import bench_support


def main():
    parser = bench_support.argument_parser(__doc__.splitlines()[0], steps=200, warmup=10)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    digits = load_digits()
    images = torch.from_numpy((digits.images / 16.0).astype(np.float32)[:, None]).to(args.device)
    labels = torch.from_numpy(digits.target.astype(np.int64)).to(args.device)
    rng = np.random.default_rng(args.seed)
    batches_per_epoch = len(labels) // args.batch_size
    cnn = bench_support.example("digits_cnn").DigitsCNN()
    cnn.dropout.p = 0.0  # dropout draws from the engine's own random stream, which differs between engines
    model = bench_support.prepare(cnn, args)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)  # 3e-3 is chaotic by 300 steps: tools/bench/README.md
    clock = bench_support.StepClock(args)
    for step in clock:
        if step % batches_per_epoch == 0:
            order = torch.from_numpy(rng.permutation(len(labels))).to(args.device)
        batch = order[(step % batches_per_epoch) * args.batch_size:][: args.batch_size]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images[batch]), labels[batch])
        loss.backward()
        optimizer.step()
    clock.report(loss)


if __name__ == "__main__":
    main()
