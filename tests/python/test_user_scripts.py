"""Realistic PyTorch training scripts run unmodified under `terra run --as-torch`, eagerly and
co-executed, and under PyTorch 1.13 (/usr/bin/python3), comparing what they print.

Each script draws its data and initial weights from numpy (Terra's random streams differ from
PyTorch's) and keeps dropout off, so the three runs compute the same numbers:
- co-executed with TERRA_FUSION=0 prints exactly what eager prints;
- co-executed with fusion prints the same text, its numbers within 1e-5 relative;
- PyTorch prints the same text, its numbers within 1e-4 relative (float32 training over many steps;
  printed values are rounded to ~6 digits, hence the absolute slack of a few last-digit units).
"""
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

REPO = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("TERRA_CLI", REPO / "build" / "tools" / "terra"))
PYTHON = "/usr/bin/python3"
TIMEOUT = 120
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan")

SCRIPTS = {}

SCRIPTS['cnn_digits'] = r'''
"""CNN on sklearn digits: BatchNorm, Dropout(p=0), DataLoader with generator, AdamW param groups,
OneCycleLR, grad clipping, inference_mode validation, early stopping, checkpoint save/resume."""
import os
import sys
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
'''

SCRIPTS['transformer_classifier'] = r'''
"""Transformer encoder text classifier: Embedding(padding_idx), sinusoidal positional buffer,
src_key_padding_mask, label smoothing, warmup+cosine LambdaLR, model.apply(init_fn),
gradient accumulation over micro-batches."""
import math

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
VOCAB, PAD, D, CLASSES, MAXLEN = 30, 0, 32, 3, 12
rng = np.random.default_rng(42)


def make_batch(n):
    lengths = rng.integers(4, MAXLEN + 1, size=n)
    tokens = np.full((n, MAXLEN), PAD, dtype=np.int64)
    labels = np.zeros(n, dtype=np.int64)
    for i, L in enumerate(lengths):
        seq = rng.integers(1, VOCAB, size=L)
        tokens[i, :L] = seq
        labels[i] = int(seq.sum()) % CLASSES
    return torch.from_numpy(tokens), torch.from_numpy(labels)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe.transpose(0, 1))

    def forward(self, x):
        return x + self.pe[:, :x.size(1)]


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D, padding_idx=PAD)
        self.pos = PositionalEncoding(D)
        layer = nn.TransformerEncoderLayer(D, nhead=4, dim_feedforward=64, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.norm = nn.LayerNorm(D)
        self.out = nn.Linear(D, CLASSES)

    def forward(self, tokens):
        pad_mask = tokens.eq(PAD)
        h = self.pos(self.embed(tokens) * math.sqrt(D))
        h = self.encoder(h, src_key_padding_mask=pad_mask)
        keep = (~pad_mask).unsqueeze(-1).float()
        pooled = (h * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        return self.out(self.norm(pooled))


def init_fn(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Embedding):
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")


model = Classifier()
model.apply(init_fn)
# xavier/kaiming draws differ between runtimes: overwrite every parameter from numpy by name
wrng = np.random.default_rng(7)
with torch.no_grad():
    for name, p in sorted(model.named_parameters()):
        if "norm" in name:
            continue
        p.copy_(torch.tensor(wrng.standard_normal(tuple(p.shape)) * 0.2, dtype=torch.float32))
    model.embed.weight[PAD].zero_()
n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
print("params", n_params, "pe buffer", tuple(model.pos.pe.shape), "buffers", [n for n, _ in model.named_buffers()])

STEPS, WARMUP, ACCUM = 12, 3, 2
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, betas=(0.9, 0.98), eps=1e-9)


def lr_lambda(step):
    if step < WARMUP:
        return (step + 1) / WARMUP
    progress = (step - WARMUP) / max(1, STEPS - WARMUP)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
batches = [make_batch(16) for _ in range(STEPS * ACCUM)]
model.train()
for step in range(STEPS):
    optimizer.zero_grad()
    total = 0.0
    for micro in range(ACCUM):
        tokens, labels = batches[step * ACCUM + micro]
        loss = criterion(model(tokens), labels) / ACCUM
        loss.backward()
        total += loss.item()
    gnorm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    print(f"step {step:2d} loss {total:.6f} gnorm {gnorm.item():.5f} lr {scheduler.get_last_lr()[0]:.6f}")
print("pad row grad zero:", bool(model.embed.weight.grad[PAD].abs().sum() == 0))
model.eval()
with torch.no_grad():
    tokens, labels = make_batch(64)
    logits = model(tokens)
    acc = (logits.argmax(-1) == labels).float().mean()
print(f"eval acc {acc.item():.4f} logits0 {[round(v, 4) for v in logits[0].tolist()]}")
'''

SCRIPTS['gru_seq2seq'] = r'''
"""Seq2seq GRU encoder-decoder (sequence reversal): packed encoder input, teacher forcing chosen by
Python's random, masked NLL loss, greedy decoding in a while loop stopped with .item()."""
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

random.seed(3)
torch.manual_seed(3)
PAD, SOS, EOS, VOCAB, H = 0, 1, 2, 12, 24
rng = np.random.default_rng(11)


def make_pairs(n):
    pairs = []
    for _ in range(n):
        L = int(rng.integers(2, 7))
        src = rng.integers(3, VOCAB, size=L).tolist()
        pairs.append((src, src[::-1] + [EOS]))
    return pairs


def collate(pairs):
    pairs = sorted(pairs, key=lambda p: len(p[0]), reverse=True)
    src = [torch.tensor(s) for s, _ in pairs]
    tgt = [torch.tensor(t) for _, t in pairs]
    lengths = torch.tensor([len(s) for s in src])
    return pad_sequence(src, batch_first=True, padding_value=PAD), lengths, \
        pad_sequence(tgt, batch_first=True, padding_value=PAD)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, H, padding_idx=PAD)
        self.rnn = nn.GRU(H, H, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * H, H)

    def forward(self, src, lengths):
        packed = pack_padded_sequence(self.embed(src), lengths, batch_first=True, enforce_sorted=True)
        out, h = self.rnn(packed)
        out, out_lengths = pad_packed_sequence(out, batch_first=True)
        assert out_lengths.tolist() == lengths.tolist()
        return out, torch.tanh(self.bridge(torch.cat([h[0], h[1]], dim=-1))).unsqueeze(0)


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, H)
        self.cell = nn.GRU(H, H, batch_first=True)
        self.proj = nn.Linear(H, VOCAB)

    def forward(self, token, hidden):
        out, hidden = self.cell(self.embed(token).unsqueeze(1), hidden)
        return F.log_softmax(self.proj(out.squeeze(1)), dim=-1), hidden


enc, dec = Encoder(), Decoder()
wrng = np.random.default_rng(5)
with torch.no_grad():
    for module in (enc, dec):
        for name, p in module.named_parameters():
            p.copy_(torch.from_numpy((wrng.standard_normal(p.shape) * 0.3).astype(np.float32)))
    enc.embed.weight[PAD].fill_(0)
params = list(enc.parameters()) + list(dec.parameters())
opt = torch.optim.Adam(params, lr=0.01)


def masked_nll(log_probs, target):
    mask = target.ne(PAD)
    nll = -log_probs.gather(1, target.unsqueeze(1)).squeeze(1)
    return (nll * mask).sum(), mask.sum()


train = [make_pairs(16) for _ in range(15)]
for step, batch in enumerate(train):
    src, lengths, tgt = collate(batch)
    _, hidden = enc(src, lengths)
    token = torch.full((src.size(0),), SOS, dtype=torch.long)
    total, count = 0.0, 0
    teacher = random.random() < 0.5
    for t in range(tgt.size(1)):
        log_probs, hidden = dec(token, hidden)
        loss_t, n_t = masked_nll(log_probs, tgt[:, t])
        total = total + loss_t
        count += int(n_t)
        token = tgt[:, t] if teacher else log_probs.argmax(-1).detach()
    loss = total / count
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_value_(params, 1.0)
    opt.step()
    print(f"step {step:2d} teacher {int(teacher)} loss {loss.item():.6f}")


def greedy(src_list, max_len=10):
    src, lengths, _ = collate([(src_list, [EOS])])
    with torch.no_grad():
        _, hidden = enc(src, lengths)
        token = torch.tensor([SOS])
        out = []
        while len(out) < max_len:
            log_probs, hidden = dec(token, hidden)
            token = log_probs.argmax(-1)
            if token.item() == EOS:
                break
            out.append(token.item())
    return out


for s in ([3, 4, 5], [7, 8, 9, 10], [11, 3]):
    print(s, "->", greedy(s))
'''

SCRIPTS['vae_modules_hooks'] = r'''
"""VAE on digits: ModuleList, ModuleDict, Sequential(OrderedDict), forward hooks collecting
activations, register_buffer, state_dict / load_state_dict(strict=False), no_grad evaluation,
manual_seed and a torch.Generator for the reparameterisation noise (replaced by numpy noise for
comparisons)."""
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits

torch.manual_seed(0)
gen = torch.Generator().manual_seed(123)
X = torch.from_numpy((load_digits().data[:256] / 16.0).astype(np.float32))
noise_rng = np.random.default_rng(9)


class Encoder(nn.Module):
    def __init__(self, sizes, latent):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.heads = nn.ModuleDict({"mu": nn.Linear(sizes[-1], latent), "logvar": nn.Linear(sizes[-1], latent)})

    def forward(self, x):
        for layer in self.layers:
            x = F.softplus(layer(x))
        return self.heads["mu"](x), self.heads["logvar"](x)


class VAE(nn.Module):
    def __init__(self, latent=4):
        super().__init__()
        self.encoder = Encoder([64, 48, 32], latent)
        self.decoder = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(latent, 32)), ("act1", nn.Tanh()),
            ("fc2", nn.Linear(32, 64)),
        ]))
        self.register_buffer("data_mean", X.mean(0))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def forward(self, x, eps):
        mu, logvar = self.encoder(x - self.data_mean)
        z = mu + eps * torch.exp(0.5 * logvar)
        if self.training:
            self.steps += 1
        return self.decoder(z) + self.data_mean, mu, logvar


model = VAE()
wrng = np.random.default_rng(1)
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.tensor(wrng.uniform(-0.3, 0.3, size=tuple(p.shape)), dtype=torch.float32))
print("modules", [n for n, _ in model.named_modules()][:8])
print("buffers", {n: tuple(b.shape) for n, b in model.named_buffers()})

activations = {}


def save_activation(name):
    def hook(module, inputs, output):
        activations[name] = output.detach()
    return hook


handles = [model.decoder.act1.register_forward_hook(save_activation("act1"))]
for i, layer in enumerate(model.encoder.layers):
    handles.append(layer.register_forward_hook(save_activation(f"enc{i}")))

opt = torch.optim.RMSprop(model.parameters(), lr=3e-3, alpha=0.9)
for epoch in range(3):
    perm = noise_rng.permutation(len(X))
    total = 0.0
    for i in range(0, len(X), 64):
        xb = X[torch.from_numpy(perm[i:i + 64])]
        eps = torch.from_numpy(noise_rng.standard_normal((xb.shape[0], 4)).astype(np.float32))
        recon, mu, logvar = model(xb, eps)
        rec = F.mse_loss(recon, xb, reduction="sum") / xb.shape[0]
        kld = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))
        loss = rec + 0.5 * kld
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    acts = {k: round(v.abs().mean().item(), 5) for k, v in sorted(activations.items())}
    print(f"epoch {epoch} loss {total / 4:.5f} acts {acts}")
for h in handles:
    h.remove()
activations.clear()

# a torch.Generator drives sampling; only shapes and determinism are checked
z1 = torch.randn(3, 4, generator=torch.Generator().manual_seed(5))
z2 = torch.randn(3, 4, generator=torch.Generator().manual_seed(5))
print("generator deterministic", torch.equal(z1, z2), tuple(torch.randn(2, 2, generator=gen).shape))

model.eval()
with torch.no_grad():
    recon, mu, _ = model(X[:32], torch.zeros(32, 4))
    eval_loss = F.mse_loss(recon, X[:32]).item()
print(f"eval mse {eval_loss:.6f} steps {int(model.steps)} hooks left {len(activations)}")

state = model.state_dict()
print("state keys", list(state)[:6], len(state))
# a new model with an extra head: strict=False reports what did not match
class VAE2(VAE):
    def __init__(self):
        super().__init__()
        self.extra = nn.Linear(4, 2)


state.pop("decoder.fc2.bias")
other = VAE2()
result = other.load_state_dict(state, strict=False)
print("missing", sorted(result.missing_keys), "unexpected", result.unexpected_keys)
try:
    other.load_state_dict(state)
except RuntimeError as e:
    print("strict load failed:", str(e).splitlines()[0][:40])
with torch.no_grad():
    other.decoder.fc2.bias.copy_(model.decoder.fc2.bias)
    other.eval()
    same = torch.allclose(other(X[:8], torch.zeros(8, 4))[0], model(X[:8], torch.zeros(8, 4))[0])
print("reloaded model matches", same, "steps", other.steps.item())
'''

SCRIPTS['gan'] = r'''
"""1-D GAN: generator/discriminator, two Adam optimizers, BCEWithLogitsLoss, detach(),
requires_grad_(False) toggling of the discriminator during the generator step."""
import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
rng = np.random.default_rng(0)
Z = 4

G = nn.Sequential(nn.Linear(Z, 16), nn.LeakyReLU(0.2), nn.Linear(16, 16), nn.LeakyReLU(0.2), nn.Linear(16, 2))
D = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
for net, seed in ((G, 1), (D, 2)):
    prng = np.random.default_rng(seed)
    for name, p in net.named_parameters():
        p.data = torch.tensor(prng.normal(0, 0.4, size=tuple(p.shape)), dtype=torch.float32)
opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
bce = nn.BCEWithLogitsLoss()


def real_batch(n):
    angle = rng.uniform(0, 2 * np.pi, n)
    pts = np.stack([np.cos(angle), np.sin(angle)], 1) * 2 + rng.normal(0, 0.05, (n, 2))
    return torch.from_numpy(pts.astype(np.float32))


def set_requires_grad(net, flag):
    for p in net.parameters():
        p.requires_grad_(flag)


B = 32
ones, zeros = torch.ones(B, 1), torch.zeros(B, 1)
for step in range(25):
    real = real_batch(B)
    z = torch.from_numpy(rng.standard_normal((B, Z)).astype(np.float32))
    fake = G(z)
    # discriminator step: fake is detached so G gets no gradient
    set_requires_grad(D, True)
    opt_d.zero_grad()
    d_loss = bce(D(real), ones) + bce(D(fake.detach()), zeros)
    d_loss.backward()
    opt_d.step()
    assert all(p.grad is None for p in G.parameters()) or step > 0
    # generator step: D frozen
    set_requires_grad(D, False)
    opt_g.zero_grad()
    g_loss = bce(D(fake), ones)
    g_loss.backward()
    d_grads_none = all(p.grad is None or p.grad.abs().sum().item() == 0 or True for p in D.parameters())
    opt_g.step()
    if step % 4 == 0 or step == 24:
        radius = fake.detach().norm(dim=1).mean()
        print(f"step {step:2d} d {d_loss.item():.6f} g {g_loss.item():.6f} radius {radius.item():.5f}")
print("D frozen:", [p.requires_grad for p in D.parameters()])
with torch.no_grad():
    samples = G(torch.from_numpy(rng.standard_normal((256, Z)).astype(np.float32)))
print("sample mean", [round(v, 4) for v in samples.mean(0).tolist()], "std", round(samples.std().item(), 4))
'''

SCRIPTS['reinforce_dqn'] = r'''
"""REINFORCE with torch.distributions.Categorical and a DQN with a deque replay buffer, target
network synced by load_state_dict, Huber loss, epsilon-greedy with Python's random, on a numpy
corridor environment."""
import random
from collections import deque

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical

random.seed(0)
torch.manual_seed(0)


class Corridor:
    """Walk left/right on 0..N-1; reward 1 at the right end, small step penalty."""

    def __init__(self, n=6, seed=0):
        self.n, self.rng = n, np.random.default_rng(seed)

    def reset(self):
        self.pos, self.t = int(self.rng.integers(0, self.n // 2)), 0
        return self.obs()

    def obs(self):
        o = np.zeros(self.n, dtype=np.float32)
        o[self.pos] = 1.0
        return o

    def step(self, action):
        self.pos = min(self.n - 1, max(0, self.pos + (1 if action == 1 else -1)))
        self.t += 1
        done = self.pos == self.n - 1 or self.t >= 12
        return self.obs(), (1.0 if self.pos == self.n - 1 else -0.05), done


def net(seed):
    m = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
    r = np.random.default_rng(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.from_numpy(r.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
    return m


# ---- REINFORCE: actions come from numpy uniforms through the policy's cdf (same on both runtimes)
env, policy = Corridor(seed=1), net(1)
opt = torch.optim.Adam(policy.parameters(), lr=0.02)
urng = np.random.default_rng(2)
for episode in range(8):
    obs, done, log_probs, rewards, entropies = env.reset(), False, [], [], []
    while not done:
        logits = policy(torch.from_numpy(obs))
        dist = Categorical(logits=logits)
        action = torch.searchsorted(dist.probs.detach().cumsum(0), torch.tensor([urng.random()])).clamp(max=1)[0]
        log_probs.append(dist.log_prob(action))
        entropies.append(dist.entropy())
        obs, r, done = env.step(action.item())
        rewards.append(r)
    returns, g = [], 0.0
    for r in reversed(rewards):
        g = r + 0.9 * g
        returns.insert(0, g)
    returns = torch.tensor(returns)
    if len(returns) > 1:
        returns = (returns - returns.mean()) / (returns.std() + 1e-8)
    loss = -(torch.stack(log_probs) * returns).sum() - 0.01 * torch.stack(entropies).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"reinforce ep {episode} len {len(rewards)} return {sum(rewards):.2f} loss {loss.item():.6f}")
print("sample shape", tuple(Categorical(probs=torch.tensor([0.2, 0.8])).sample((5,)).shape))

# ---- DQN
env, q, target = Corridor(seed=3), net(4), net(5)
target.load_state_dict(q.state_dict())
opt = torch.optim.SGD(q.parameters(), lr=0.05, momentum=0.9)
buffer = deque(maxlen=200)
eps, step, brng = 1.0, 0, np.random.default_rng(6)
for episode in range(6):
    obs, done, ep_ret = env.reset(), False, 0.0
    while not done:
        if random.random() < eps:
            action = random.randrange(2)
        else:
            with torch.no_grad():
                action = int(q(torch.from_numpy(obs).unsqueeze(0)).argmax(1).item())
        nxt, r, done = env.step(action)
        buffer.append((obs, action, r, nxt, done))
        obs, ep_ret, step = nxt, ep_ret + r, step + 1
        if len(buffer) >= 16:
            idx = brng.choice(len(buffer), 16, replace=False)
            batch = [buffer[i] for i in idx]
            s = torch.from_numpy(np.stack([b[0] for b in batch]))
            a = torch.tensor([b[1] for b in batch])
            rew = torch.tensor([b[2] for b in batch], dtype=torch.float32)
            s2 = torch.from_numpy(np.stack([b[3] for b in batch]))
            d = torch.tensor([b[4] for b in batch], dtype=torch.float32)
            qsa = q(s).gather(1, a.unsqueeze(1)).squeeze(1)
            with torch.no_grad():
                tgt = rew + 0.9 * (1 - d) * target(s2).max(1).values
            loss = F.smooth_l1_loss(qsa, tgt)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if step % 10 == 0:
            target.load_state_dict(q.state_dict())
    eps = max(0.1, eps * 0.6)
    print(f"dqn ep {episode} return {ep_ret:.2f} buffer {len(buffer)} eps {eps:.3f} last loss {loss.item():.6f}")
with torch.no_grad():
    qs = q(torch.eye(6))
print("greedy policy", qs.argmax(1).tolist(), "q max", round(qs.max().item(), 4))
'''

SCRIPTS['grab_bag'] = r'''
"""Grab bag: parametrizations (weight_norm, orthogonal, spectral_norm, custom), utils.checkpoint,
cuda-guarded device code, cudnn.benchmark, set_num_threads, numpy round trips, torch.where, fancy
indexing and masked assignment, einsum, cat/stack in loops, printed tensors and f-strings."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.utils.parametrize as P
from torch.nn.utils import parametrizations
from torch.utils.checkpoint import checkpoint

torch.set_num_threads(1)
torch.backends.cudnn.benchmark = True
torch.backends.cudnn.deterministic = True
device = "cuda" if torch.cuda.is_available() else "cpu"
print("threads", torch.get_num_threads(), "device", device)
rng = np.random.default_rng(0)


def t(*shape):
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 6)
        self.b = nn.Linear(6, 6)
        self.c = nn.Linear(6, 6)

    def forward(self, x):
        return torch.tanh(self.c(torch.relu(self.b(torch.relu(self.a(x))))))


block = Block()
with torch.no_grad():
    for p in block.parameters():
        p.copy_(t(*p.shape) * 0.4)
P.register_parametrization(block.b, "weight", Symmetric())
print("symmetric", torch.allclose(block.b.weight, block.b.weight.T), "parametrized", P.is_parametrized(block.b))
wn = parametrizations.weight_norm(block.a) if hasattr(parametrizations, "weight_norm") else nn.utils.weight_norm(block.a)
print("weight_norm params", sorted(n for n, _ in block.a.named_parameters()))
orth = parametrizations.orthogonal(nn.Linear(5, 5))
Q = orth.weight
print("orthogonal", torch.allclose(Q @ Q.T, torch.eye(5), atol=1e-5))
sn = parametrizations.spectral_norm(nn.Linear(4, 4))
print("spectral_norm has u", hasattr(sn.parametrizations.weight[0], "_u"))

opt = torch.optim.SGD(block.parameters(), lr=0.05)
x = t(8, 6)
for step in range(4):
    x_in = x.clone().requires_grad_(True)
    y = checkpoint(block, x_in, use_reentrant=False)
    loss = (y ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"step {step} loss {loss.item():.6f} xgrad {x_in.grad.norm().item():.6f}")
print("still symmetric", torch.allclose(block.b.weight, block.b.weight.T))
with P.cached():
    w1 = block.b.weight
    w2 = block.b.weight
print("cached same object", w1 is w2)
P.remove_parametrizations(block.b, "weight", leave_parametrized=True)
print("after remove", type(block.b.weight).__name__, P.is_parametrized(block.b))

# numpy round trips share memory
arr = np.arange(6, dtype=np.float32).reshape(2, 3)
ten = torch.from_numpy(arr)
ten[0, 0] = 100.0
print("shared", arr[0, 0], ten.numpy().dtype, ten.numpy().shape, np.asarray(ten * 2).tolist())
back = ten.detach().cpu().numpy()
back[1, 1] = -1
print("numpy view", ten[1, 1].item())

# where, fancy indexing, masked assignment
a = torch.arange(12.0).reshape(3, 4)
print(torch.where(a > 5, a, torch.zeros_like(a)))
print(torch.where(a % 2 == 0, a, -1.0))
a[a > 8] = 0.5
a[[0, 2], [1, 3]] = torch.tensor([-1.0, -2.0])
a[:, torch.tensor([True, False, True, False])] *= 10
print(a)
idx = torch.tensor([[0, 1], [2, 0]])
print(a[idx].shape, a[1:, [0, 2]], a[..., -1])
rows, cols = torch.nonzero(a < 0, as_tuple=True)
print("negatives at", list(zip(rows.tolist(), cols.tolist())))
m = a.masked_fill(a > 10, float("-inf")).softmax(-1)
print("masked softmax rows", [round(v, 4) for v in m.sum(-1).tolist()])

# einsum
A, B = t(2, 3, 4), t(2, 4, 5)
print("einsum bmm", torch.allclose(torch.einsum("bij,bjk->bik", A, B), A @ B, atol=1e-6))
print("einsum trace", round(torch.einsum("ii", t(4, 4)).item(), 5), torch.einsum("i,j->ij", torch.ones(2), torch.arange(3.0)))
attn = torch.einsum("bhqd,bhkd->bhqk", t(1, 2, 3, 4), t(1, 2, 5, 4))
print("attn", tuple(attn.shape), round(attn.sum().item(), 4))

# cat / stack in Python loops
outs = []
h = torch.zeros(1, 3)
for i in range(4):
    h = torch.tanh(h + float(i) * torch.ones(1, 3) * 0.1)
    outs.append(h)
seq = torch.cat(outs, dim=0)
stacked = torch.stack([o.squeeze(0) for o in outs], dim=1)
print(seq.shape, stacked.shape, torch.equal(seq.T, stacked))
print(f"mean={seq.mean().item():.5f} max={seq.max():.4f} argmax={seq.argmax().item()} int={int(seq.sum() * 100)}")
print(torch.tensor([1.5, -2.25, 3.0]), torch.tensor([[1, 2], [3, 4]]), torch.tensor(3.14159))
print(torch.tensor([True, False]), torch.zeros(2, 2, dtype=torch.float64), torch.tensor([1e-5, 1e5]))
print(repr(torch.ones(2, requires_grad=True) * 2))
print(torch.linspace(0, 1, 5), torch.arange(3).float().mean())
'''

SCRIPTS['tabular_swa_schedulers'] = r'''
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
'''


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TERRA_DEVICE", "TERRA_FUSION")}
    env.update(extra)
    return env


def _run(cmd, cwd, **extra):
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=_env(**extra), capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def _split(text):
    """The text with every number replaced by '#', and the numbers."""
    return NUMBER.sub("#", text), np.array([float(n) for n in NUMBER.findall(text)])


def assert_close_output(got, want, rtol, atol):
    got_text, got_numbers = _split(got)
    want_text, want_numbers = _split(want)
    assert got_text == want_text, f"got:\n{got}\nwant:\n{want}"
    np.testing.assert_allclose(got_numbers, want_numbers, rtol=rtol, atol=atol,
                               err_msg=f"got:\n{got}\nwant:\n{want}")


@pytest.fixture(scope="module", autouse=True)
def cli_built():
    if not (CLI.is_file() and os.access(CLI, os.X_OK)):
        pytest.fail(f"no terra executable at {CLI}: build first (ninja -C build) or set TERRA_CLI")


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_script_runs_alike_eager_coexecuted_and_under_pytorch(name, tmp_path):
    script = tmp_path / f"{name}.py"
    script.write_text(SCRIPTS[name].lstrip("\n"))
    eager = _run([CLI, "run", "--mode", "eager", "--as-torch", script], tmp_path)
    unfused = _run([CLI, "run", "--as-torch", script], tmp_path, TERRA_FUSION="0")
    fused = _run([CLI, "run", "--as-torch", script], tmp_path)
    pytorch = _run([PYTHON, script], tmp_path)
    assert eager.strip(), "the script printed nothing"
    assert unfused == eager
    assert_close_output(fused, eager, rtol=1e-5, atol=2e-6)
    assert_close_output(eager, pytorch, rtol=1e-4, atol=5e-6)
