"""Sine-wave prediction with two LSTMCells in float64, trained by LBFGS with a closure (after
PyTorch's time_sequence_prediction example, smaller).

    python3 lstm_timeseries.py --steps 10            # PyTorch
    terra run --as-torch lstm_timeseries.py --steps 10   # Terra
"""
import numpy as np
import torch
import torch.nn as nn

import bench_support


class Sequence(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.hidden = hidden
        self.cell1 = nn.LSTMCell(1, hidden)
        self.cell2 = nn.LSTMCell(hidden, hidden)
        self.linear = nn.Linear(hidden, 1)

    def forward(self, series):
        batch = series.shape[0]
        h1 = c1 = h2 = c2 = torch.zeros(batch, self.hidden, dtype=series.dtype, device=series.device)
        outputs = []
        for value in series.split(1, dim=1):
            h1, c1 = self.cell1(value, (h1, c1))
            h2, c2 = self.cell2(h1, (h2, c2))
            outputs.append(self.linear(h2))
        return torch.cat(outputs, dim=1)


def main():
    parser = bench_support.argument_parser(__doc__.splitlines()[0], steps=8, warmup=1)
    parser.add_argument("--length", type=int, default=40, help="time steps per sequence")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    shifts = rng.integers(-40, 40, size=(16, 1))
    waves = np.sin((np.arange(args.length + 1)[None, :] + shifts) / 4.0)
    inputs = torch.from_numpy(waves[:, :-1].copy()).to(args.device)
    targets = torch.from_numpy(waves[:, 1:].copy()).to(args.device)
    model = bench_support.prepare(Sequence().double(), args)
    optimizer = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=4)
    criterion = nn.MSELoss()

    def closure():
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        return loss

    clock = bench_support.StepClock(args)
    for _ in clock:
        loss = optimizer.step(closure)
    clock.report(loss)


if __name__ == "__main__":
    main()
