"""A small nn.Sequential CNN (convolutions, max and adaptive average pooling) on 300 of
scikit-learn's digits, five epochs of batches of 64 reshuffled by numpy each epoch: every epoch
ends with a smaller batch of 44 (a shape seen once per epoch)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits

from _corpus import finish, report, seed

rng = seed(2)
digits = load_digits()
images = torch.from_numpy((digits.images[:300] / 16.0).astype(np.float32)).unsqueeze(1)
labels = torch.from_numpy(digits.target[:300].astype(np.int64))

model = nn.Sequential(
    nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
    nn.Flatten(), nn.Linear(16 * 2 * 2, 10),
)
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(5):
    order = torch.from_numpy(rng.permutation(300))
    for start in range(0, 300, 64):
        idx = order[start:start + 64]
        loss = F.cross_entropy(model(images[idx]), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        report(f"epoch {epoch} batch {start // 64} size {len(idx)} loss", loss.item())
finish(model, opt)
