"""Depthwise-separable CNN on the digits: Subset and DataLoader, LayerNorm/GELU/SiLU, dirac_ init,
CosineAnnealingLR, gradient accumulation, top-3 accuracy, and a checkpoint of model, optimizer and
scheduler saved and resumed mid-run."""
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F, tempfile, os
from sklearn.datasets import load_digits
from torch.utils.data import TensorDataset, DataLoader, Subset

rng = np.random.default_rng(3)
d = load_digits()
X = (d.images / 16.0).astype(np.float32)[:, None]
y = d.target.astype(np.int64)
Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
idx = rng.permutation(len(X))
tr_idx, te_idx = idx[:1000].tolist(), idx[1000:1400].tolist()
full = TensorDataset(Xt, yt)
train_ds, test_ds = Subset(full, tr_idx), Subset(full, te_idx)
print(len(train_ds), len(test_ds), train_ds[0][0].shape, int(train_ds[0][1]))

class DWSep(nn.Module):
    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.dw = nn.Conv2d(c_in, c_in, 3, stride=stride, padding=1, groups=c_in, bias=False)
        self.bn1 = nn.BatchNorm2d(c_in)
        self.pw = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out, momentum=0.2, eps=1e-3)
    def forward(self, x):
        return F.silu(self.bn2(self.pw(F.gelu(self.bn1(self.dw(x))))))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 12, 3, padding=1)
        self.blocks = nn.ModuleList([DWSep(12, 24), DWSep(24, 24, stride=2), DWSep(24, 32)])
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * 4 * 4, 32), nn.LayerNorm(32), nn.GELU(), nn.Dropout(p=0.0), nn.Linear(32, 10))
    def forward(self, x):
        x = F.gelu(self.stem(x))
        for b in self.blocks:
            x = b(x)
        return self.head(x)

def init_fn(m):
    if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1):
        nn.init.dirac_(m.weight) if m.in_channels == m.out_channels else nn.init.ones_(m.weight)
    elif isinstance(m, nn.Conv2d) and m.bias is not None:
        nn.init.constant_(m.bias, 0.01)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.ones_(m.weight); nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Linear):
        nn.init.constant_(m.bias, 0.0)

model = Net()
model.apply(init_fn)
r = np.random.default_rng(11)
with torch.no_grad():
    for n, p in model.named_parameters():
        if p.dim() >= 2:
            fan_in = p[0].numel()
            p.copy_(torch.from_numpy((r.uniform(-1, 1, size=tuple(p.shape)) * np.sqrt(3.0 / fan_in)).astype(np.float32)))
print(model)
print(model.blocks[1].dw.weight.shape, model.blocks[1].dw.groups)

decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
nodecay = [p for n, p in model.named_parameters() if p.ndim < 2]
print(len(decay), len(nodecay))
opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": nodecay, "weight_decay": 0.0}], lr=0.05, momentum=0.9, nesterov=True)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=60, eta_min=1e-3)
crit = nn.CrossEntropyLoss(label_smoothing=0.05)
tl = DataLoader(train_ds, batch_size=50, shuffle=False)
vl = DataLoader(test_ds, batch_size=128, shuffle=False)

def evaluate(m):
    m.eval()
    correct, n, top3, lsum = 0, 0, 0, 0.0
    cm = torch.zeros(10, 10, dtype=torch.long)
    with torch.no_grad():
        for xb, yb in vl:
            out = m(xb)
            lsum += F.cross_entropy(out, yb, reduction="sum").item()
            pred = out.argmax(1)
            correct += (pred == yb).sum().item()
            top3 += (out.topk(3, dim=1).indices == yb[:, None]).any(dim=1).sum().item()
            n += yb.numel()
            cm += torch.bincount(yb * 10 + pred, minlength=100).view(10, 10)
    m.train()
    return lsum / n, correct / n, top3 / n, cm

accum = 2
step = 0
for ep in range(3):
    for i, (xb, yb) in enumerate(tl):
        # augmentation: pad + crop via indexing with numpy-chosen offsets, per-sample flip mask
        off = rng.integers(0, 3, size=2)
        xp = F.pad(xb, (1, 1, 1, 1), mode="constant", value=0.0)
        xb = xp[:, :, off[0]:off[0] + 8, off[1]:off[1] + 8]
        flip = torch.from_numpy(rng.random(xb.shape[0]) < 0.3)
        xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
        loss = crit(model(xb), yb) / accum
        loss.backward()
        if (i + 1) % accum == 0:
            gn = nn.utils.clip_grad_norm_(model.parameters(), max_norm=2.0)
            opt.step(); opt.zero_grad(); sched.step()
            if step % 5 == 0:
                print(f"step {step} loss {loss.item() * accum:.6f} gn {gn:.5f} lr {sched.get_last_lr()[0]:.6f}")
            step += 1
    vl_loss, acc, t3, cm = evaluate(model)
    print(f"epoch {ep} val_loss {vl_loss:.5f} acc {acc:.4f} top3 {t3:.4f}")
print(cm)
print(cm.sum(0), cm.sum(1))
per_class = cm.diag().float() / cm.sum(1).clamp(min=1).float()
print(per_class)

# checkpoint both model and optimizer, resume into fresh objects, continue 3 steps
buf = os.path.join(tempfile.mkdtemp(), "ck.pt")
torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step}, buf)
ck = torch.load(buf)
m2 = Net()
m2.load_state_dict(ck["model"])
decay2 = [p for n, p in m2.named_parameters() if p.ndim >= 2]
nodecay2 = [p for n, p in m2.named_parameters() if p.ndim < 2]
o2 = torch.optim.SGD([{"params": decay2, "weight_decay": 5e-4}, {"params": nodecay2, "weight_decay": 0.0}], lr=0.05, momentum=0.9, nesterov=True)
o2.load_state_dict(ck["opt"])
s2 = torch.optim.lr_scheduler.CosineAnnealingLR(o2, T_max=60, eta_min=1e-3)
s2.load_state_dict(ck["sched"])
print(ck["step"], s2.last_epoch, f"{o2.param_groups[0]['lr']:.6f}")
xb, yb = next(iter(tl))
for mm, oo, ss in ((model, opt, sched), (m2, o2, s2)):
    losses = []
    for k in range(3):
        l = crit(mm(xb), yb)
        oo.zero_grad(); l.backward(); oo.step(); ss.step()
        losses.append(f"{l.item():.6f}")
    print(losses)
print(f"{(model.head[1].weight - m2.head[1].weight).abs().max().item():.3e}")
