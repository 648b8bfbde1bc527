"""An nn.GRU (batch_first) classifying sequences whose length changes every step, with tensors
printed the plain way: print(tensor) on a parameter slice, a tensor with a grad_fn and a
.tolist() of predictions (each one a fetch whose text must not change)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(27)
gru = nn.GRU(2, 12, batch_first=True)
head = nn.Linear(12, 2)
opt = torch.optim.Adam(list(gru.parameters()) + list(head.parameters()), lr=0.01)
for step in range(25):
    length = int(rng.integers(4, 10))
    seq = torch.from_numpy(rng.standard_normal((10, length, 2)).astype(np.float32))
    label = (seq[:, :, 0].sum(dim=1) > seq[:, :, 1].sum(dim=1)).long()
    out, last = gru(seq)
    logits = head(last[0])
    loss = F.cross_entropy(logits, label)
    opt.zero_grad()
    loss.backward()
    opt.step()
    report(f"step {step} length {length} loss", loss.item())
    if step % 6 == 0:
        print(head.bias.data)
        print(logits[:2].softmax(dim=1))
        print(logits.argmax(dim=1).tolist())
finish(gru, head, opt)
