"""torch.utils.data: a TensorDataset of 100 samples in shuffled batches of 24 (the shuffle draws
from the torch random stream), so every epoch ends with a batch of 4; five epochs."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from _corpus import finish, report, seed

rng = seed(14)
features = torch.from_numpy(rng.standard_normal((100, 7)).astype(np.float32))
targets = features[:, :3].sum(dim=1, keepdim=True).tanh()
loader = DataLoader(TensorDataset(features, targets), batch_size=24, shuffle=True)
model = nn.Sequential(nn.Linear(7, 16), nn.ELU(), nn.Linear(16, 1))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(5):
    for batch, (x, y) in enumerate(loader):
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        report(f"epoch {epoch} batch {batch} rows {x.shape[0]} loss", loss.item())
finish(model, opt)
