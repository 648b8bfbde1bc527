"""An nn.LSTM classifier (bidirectional, batch_first) over batches of variable-length sequences
packed with pack_padded_sequence(enforce_sorted=False): at each time step only the sequences
still running advance, the final states come back in the batch's own order, and
pad_packed_sequence unpads the outputs for a mean over each sequence's own steps. Four fixed
batches (equal lengths and length-1 sequences among them) take turns, so the packing changes
every step and recurs every fourth; Adam updates the model and the loss is printed every third
step."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from _corpus import finish, report, seed

rng = seed(38)
batch, max_length = 6, 8
batches = []
for lengths in ([8, 3, 3, 1, 6, 2], [5, 5, 5, 5, 5, 5], [1, 7, 4, 1, 2, 4], [2, 6, 8, 3, 7, 1]):
    seq = rng.standard_normal((batch, max_length, 3)).astype(np.float32)
    seq[np.arange(max_length)[None, :] >= np.array(lengths)[:, None]] = 0.0  # the padding
    label = (seq[:, :, 0].sum(axis=1) > seq[:, :, 1].sum(axis=1)).astype(np.int64)
    batches.append((torch.from_numpy(seq), lengths, torch.from_numpy(label)))


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 10, batch_first=True, bidirectional=True)
        self.head = nn.Linear(40, 2)

    def forward(self, seq, lengths):
        packed = pack_padded_sequence(seq, lengths, batch_first=True, enforce_sorted=False)
        out, (h, c) = self.lstm(packed)
        steps, counts = pad_packed_sequence(out, batch_first=True)
        mean = steps.sum(dim=1) / counts.to(steps).unsqueeze(1)
        return self.head(torch.cat([h[0], h[1], mean], dim=1))


model = Classifier()
opt = torch.optim.Adam(model.parameters(), lr=0.02)
for step in range(24):
    seq, lengths, label = batches[step % len(batches)]
    loss = F.cross_entropy(model(seq, lengths), label)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 3 == 0:
        report(f"step {step} loss", loss.item())
finish(model, opt)
