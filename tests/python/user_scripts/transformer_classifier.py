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
