"""Tabular regression with a Dataset subclass returning dicts, random_split, WeightedRandomSampler,
ReduceLROnPlateau + StepLR chaining, AveragedModel (EMA), deepcopy, whole-module torch.save,
one_hot/topk/unique/scatter_add/bucketize, and a custom autograd.Function."""
import copy
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader, Dataset, Subset, random_split, WeightedRandomSampler

torch.manual_seed(0)
rng = np.random.default_rng(0)
Xn = rng.standard_normal((200, 5)).astype(np.float32)
yn = (Xn @ np.array([1.0, -2.0, 0.5, 0.0, 3.0], dtype=np.float32) + 0.1 * rng.standard_normal(200)).astype(np.float32)


class Tabular(Dataset):
    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return {"x": torch.from_numpy(self.X[i]), "y": torch.tensor(self.y[i]), "idx": i}


ds = Tabular(Xn, yn)
tr, va = random_split(ds, [160, 40], generator=torch.Generator().manual_seed(0))
print("split", len(tr), len(va), type(tr).__name__)
train_ds, val_ds = Subset(ds, list(range(160))), Subset(ds, list(range(160, 200)))
loader = DataLoader(train_ds, batch_size=32)
batch = next(iter(loader))
print("batch keys", sorted(batch), batch["x"].shape, batch["y"].dtype, batch["idx"][:4])
sampler = WeightedRandomSampler(torch.ones(160), num_samples=64, replacement=True)
print("sampler len", len(list(sampler)))


class ScaledTanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        ctx.scale = scale
        return y * scale

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * ctx.scale * (1 - y * y), None


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(5, 16), nn.Linear(16, 1)

    def forward(self, x):
        return self.fc2(ScaledTanh.apply(self.fc1(x), 2.0)).squeeze(-1)


model = MLP()
wr = np.random.default_rng(3)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(wr.normal(0, 0.3, tuple(p.shape)).astype(np.float32)))
ema = AveragedModel(model, avg_fn=lambda avg, new, n: 0.9 * avg + 0.1 * new)
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=0)
step_sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.8)
best_state = None
for epoch in range(5):
    model.train()
    for b in loader:
        loss = F.mse_loss(model(b["x"]), b["y"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        ema.update_parameters(model)
    model.eval()
    with torch.no_grad():
        val = sum(F.mse_loss(model(b["x"]), b["y"], reduction="sum").item()
                  for b in DataLoader(val_ds, batch_size=16)) / len(val_ds)
        ema_val = F.mse_loss(ema(torch.from_numpy(Xn[160:])), torch.from_numpy(yn[160:])).item()
    plateau.step(val)
    step_sched.step()
    if best_state is None or val < best_state[0]:
        best_state = (val, copy.deepcopy(model.state_dict()))
    print(f"epoch {epoch} val {val:.6f} ema {ema_val:.6f} lr {opt.param_groups[0]['lr']:.5f} n_avg {int(ema.n_averaged)}")

buf = io.BytesIO()
torch.save(model, buf)
buf.seek(0)
clone = torch.load(buf)
twin = copy.deepcopy(model)
x = torch.from_numpy(Xn[:4])
print("clone equal", torch.equal(clone(x), model(x)), torch.equal(twin(x), model(x)), twin.fc1.weight is not model.fc1.weight)

labels = torch.tensor([0, 2, 1, 2, 2])
print(F.one_hot(labels, 4))
vals, idx = torch.topk(torch.tensor([0.1, 0.9, 0.5, 0.7]), k=2)
print(vals, idx)
u, inv, counts = torch.unique(labels, return_inverse=True, return_counts=True)
print(u, inv, counts)
print(torch.zeros(3).scatter_add_(0, labels, torch.ones(5)), torch.bincount(labels))
print(torch.bucketize(torch.tensor([0.05, 0.5, 0.95]), torch.tensor([0.1, 0.6])))
s, order = torch.sort(torch.tensor([3.0, 1.0, 2.0]), descending=True)
print(s, order, torch.argsort(torch.tensor([3, 1, 2])))
print(torch.cumsum(torch.arange(5), 0), torch.diff(torch.tensor([1, 4, 9])), torch.flip(torch.arange(3), [0]))
print(torch.tensor([[1.0, 2.0], [3.0, 4.0]]).var(dim=0, unbiased=False), torch.clamp(torch.tensor([-2.0, 0.5, 9.0]), 0, 1))
print(torch.allclose(torch.cdist(x, x).diagonal(), torch.zeros(4), atol=1e-3), torch.tril(torch.ones(3, 3)).bool().sum())
