"""Other libraries in the loop: scikit-learn scores fetched predictions every few steps
(sklearn.metrics.accuracy_score and r2_score on .detach().numpy() values), Python's own seeded
`random` shuffles the batch order each epoch, and a math.cos warmup-and-decay schedule writes the
learning rate into optimizer.param_groups every step (printed with the loss and the scores)."""
import math
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, r2_score

from _corpus import finish, report, seed

rng = seed(31)
random.seed(31)
x_all = rng.standard_normal((96, 4)).astype(np.float32)
target_all = (x_all @ np.array([1.5, -1.0, 0.5, 0.0], np.float32) + 0.3).astype(np.float32)
label_all = (target_all > 0.3).astype(np.int64)
trunk = nn.Sequential(nn.Linear(4, 16), nn.Tanh())
regress, classify = nn.Linear(16, 1), nn.Linear(16, 2)
model = nn.ModuleList([trunk, regress, classify])
opt = torch.optim.SGD(model.parameters(), lr=0.0, momentum=0.9)
batches = list(range(4))
step = 0
for epoch in range(6):
    random.shuffle(batches)
    for b in batches:
        lr = 0.1 * min(1.0, (step + 1) / 5) * 0.5 * (1 + math.cos(math.pi * step / 24))
        for group in opt.param_groups:
            group["lr"] = lr
        rows = slice(24 * b, 24 * (b + 1))
        x = torch.from_numpy(x_all[rows])
        target = torch.from_numpy(target_all[rows]).unsqueeze(1)
        label = torch.from_numpy(label_all[rows])
        h = trunk(x)
        value, logits = regress(h), classify(h)
        loss = F.mse_loss(value, target) + F.cross_entropy(logits, label)
        opt.zero_grad()
        loss.backward()
        opt.step()
        report(f"step {step} batch {b} lr {lr:.6g} loss", loss.item())
        if step % 4 == 3:
            accuracy = accuracy_score(label.numpy(), logits.detach().argmax(dim=1).numpy())
            r2 = r2_score(target.numpy(), value.detach().numpy())
            report(f"step {step} accuracy {accuracy:.6g} r2", float(r2))
        step += 1
finish(model, opt)
