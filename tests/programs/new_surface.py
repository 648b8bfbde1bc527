"""Ops added to Terra's surface late, together in one loop: a Conv3d and max_pool3d over a small
5-D volume, a weight-normalised Linear (nn.utils.weight_norm), an LSTM over variable-length
sequences packed with pack_padded_sequence, group ids computed from an integer tensor with
bitwise ops (`<<`, `^`, `&`) that index a scatter_reduce (amax per group) and an index_reduce
(mean per group), and a loss with a torch.special.i0e penalty and an erfcx term. Three fixed
packings take turns, so the packing changes every step and recurs every third; the loss is
printed every fourth step."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import weight_norm
from torch.nn.utils.rnn import pack_padded_sequence

from _corpus import finish, report, seed

GROUPS = 4
rng = seed(71)
batch, max_length = 8, 5
packings = ([5, 2, 3, 1, 4, 5, 2, 1], [3, 3, 3, 3, 3, 3, 3, 3], [1, 5, 4, 2, 2, 5, 1, 3])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(1, 4, 3, padding=1)
        self.proj = weight_norm(nn.Linear(4, 6))
        self.lstm = nn.LSTM(3, 6, batch_first=True)
        self.head = nn.Linear(12, 1)

    def forward(self, volume, seq, lengths, groups):
        h = F.max_pool3d(torch.relu(self.conv(volume)), 2).flatten(2).mean(dim=2)
        packed = pack_padded_sequence(seq, lengths, batch_first=True, enforce_sorted=False)
        _, (last, _) = self.lstm(packed)
        per_sample = self.proj(h) + last[0]
        index = groups.unsqueeze(1).expand(-1, per_sample.shape[1])
        peak = torch.zeros(GROUPS, per_sample.shape[1]).scatter_reduce(0, index, per_sample, reduce="amax",
                                                                       include_self=False)
        mean = torch.zeros(GROUPS, per_sample.shape[1]).index_reduce(0, groups, per_sample, "mean",
                                                                     include_self=False)
        return self.head(torch.cat([peak, mean], dim=1)).squeeze(1)


model = Net()
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(24):
    lengths = packings[step % len(packings)]
    volume = torch.from_numpy(rng.standard_normal((batch, 1, 4, 4, 4)).astype(np.float32))
    seq = torch.from_numpy(rng.standard_normal((batch, max_length, 3)).astype(np.float32))
    codes = torch.from_numpy(rng.integers(0, 64, batch))
    groups = ((codes << 1) ^ codes) & (GROUPS - 1)
    target = torch.from_numpy(rng.standard_normal(GROUPS).astype(np.float32))
    pred = model(volume, seq, lengths, groups)
    loss = F.mse_loss(pred, target) + 0.05 * torch.special.i0e(pred).sum() + 0.05 * torch.special.erfcx(pred).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 4 == 3:
        report(f"step {step} loss", loss.item())
        report(f"step {step} groups", torch.bincount(groups, minlength=GROUPS))
finish(model, opt)
