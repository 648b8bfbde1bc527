"""CNN on sklearn digits: BatchNorm, Dropout(p=0), DataLoader with generator, AdamW param groups,
OneCycleLR, grad clipping, inference_mode validation, early stopping, checkpoint save/resume."""
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
torch.backends.cudnn.benchmark = True
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

digits = load_digits()
X = (digits.images / 16.0).astype(np.float32)[:, None]
y = digits.target.astype(np.int64)
X, y = X[:480], y[:480]
perm = np.random.default_rng(0).permutation(len(X))
X, y = X[perm], y[perm]
Xtr, ytr, Xva, yva = X[:384], y[:384], X[384:], y[384:]

train_ds = TensorDataset(torch.from_numpy(Xtr), torch.from_numpy(ytr))
val_ds = TensorDataset(torch.from_numpy(Xva), torch.from_numpy(yva))
g = torch.Generator()
g.manual_seed(1234)
# shuffle=False for the numeric comparison with PyTorch; a shuffled loader is exercised below
train_dl = DataLoader(train_ds, batch_size=64, shuffle=False)
val_dl = DataLoader(val_ds, batch_size=128)
shuffled = DataLoader(train_ds, batch_size=64, shuffle=True, generator=g, drop_last=True)
seen = torch.cat([yb for _, yb in shuffled])
print("shuffled batches cover", seen.numel(), "labels, sum ok:", int(seen.sum()) <= int(ytr.sum()))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(p=0.0), nn.Linear(16 * 4 * 4, 32), nn.ReLU(),
                                  nn.Linear(32, 10))

    def forward(self, x):
        return self.head(self.features(x))


def init_from_numpy(model, seed=0):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            scale = 1.0 / np.sqrt(max(1, p[0].numel())) if p.dim() > 1 else 0.05
            if "features.1" in name or "features.4" in name:
                arr = np.ones(p.shape) if name.endswith("weight") else np.zeros(p.shape)
            else:
                arr = rng.standard_normal(p.shape) * scale
            p.copy_(torch.tensor(arr, dtype=torch.float32))


model = Net().to(device)
init_from_numpy(model)

decay, no_decay = [], []
for name, p in model.named_parameters():
    (no_decay if p.ndim == 1 else decay).append(p)
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                               {"params": no_decay, "weight_decay": 0.0}], lr=3e-3)
EPOCHS = 6
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, epochs=EPOCHS,
                                                steps_per_epoch=len(train_dl))


def evaluate():
    model.eval()
    total, correct, n = 0.0, 0, 0
    with torch.inference_mode():
        for xb, yb in val_dl:
            xb, yb = xb.to(device), yb.to(device)
            logits = model(xb)
            total += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += (logits.argmax(dim=1) == yb).sum().item()
            n += yb.size(0)
    return total / n, correct / n


def train_epoch():
    model.train()
    running = 0.0
    for xb, yb in train_dl:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        running += loss.item() * xb.size(0)
    return running / len(train_ds), float(norm)


ckpt_path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
best, patience, bad = float("inf"), 2, 0
for epoch in range(EPOCHS):
    if epoch == 3:
        # simulate a restart: rebuild everything and resume from the checkpoint
        state = torch.load(ckpt_path)
        model = Net().to(device)
        model.load_state_dict(state["model"])
        decay = [p for n_, p in model.named_parameters() if p.ndim > 1]
        no_decay = [p for n_, p in model.named_parameters() if p.ndim == 1]
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                       {"params": no_decay, "weight_decay": 0.0}], lr=3e-3)
        optimizer.load_state_dict(state["optimizer"])
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, epochs=EPOCHS,
                                                        steps_per_epoch=len(train_dl))
        scheduler.load_state_dict(state["scheduler"])
        print(f"resumed at epoch {state['epoch'] + 1} lr {scheduler.get_last_lr()[0]:.6f}")
    tr_loss, gnorm = train_epoch()
    va_loss, acc = evaluate()
    print(f"epoch {epoch} train {tr_loss:.6f} val {va_loss:.6f} acc {acc:.4f} gnorm {gnorm:.5f} "
          f"lr {optimizer.param_groups[0]['lr']:.6f}")
    if va_loss < best - 1e-4:
        best, bad = va_loss, 0
    else:
        bad += 1
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "epoch": epoch}, ckpt_path)
    if bad >= patience:
        print("early stop")
        break
print("running_mean", [round(v, 5) for v in model.features[1].running_mean[:4].tolist()])
print("num_batches_tracked", int(model.features[1].num_batches_tracked))
