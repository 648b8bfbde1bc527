"""A one-block transformer-style character language model written out by hand: causal attention
with matmul, masked_fill and softmax, LayerNorm, a GELU MLP and residual connections, trained
with AdamW on windows of the GPL's text picked by a numpy RNG."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, x):
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        scores = q @ k.transpose(-2, -1) / math.sqrt(x.shape[-1])
        future = torch.ones(x.shape[1], x.shape[1]).triu(diagonal=1).bool()
        attention = F.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        x = x + self.proj(attention @ v)
        return x + self.mlp(self.norm2(x))


class TinyLM(nn.Module):
    def __init__(self, vocab, width, context):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.position = nn.Parameter(torch.randn(context, width) * 0.02)
        self.block = Block(width)
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, vocab)

    def forward(self, tokens):
        x = self.embed(tokens) + self.position[: tokens.shape[1]]
        return self.out(self.norm(self.block(x)))


rng = seed(5)
with open("/usr/share/common-licenses/GPL-3", encoding="utf-8") as f:
    text = f.read(4000)
alphabet = sorted(set(text))
ids = torch.tensor([alphabet.index(c) for c in text], dtype=torch.int64)
context = 16
model = TinyLM(len(alphabet), 32, context)
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
for step in range(25):
    starts = rng.integers(0, len(ids) - context - 1, size=8)
    window = torch.stack([ids[s: s + context + 1] for s in starts.tolist()])
    logits = model(window[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, len(alphabet)), window[:, 1:].reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    report(f"step {step} loss", loss.item())
finish(model, opt)
