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
