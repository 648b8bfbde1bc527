"""A word-level LSTM language model trained on a text file, in plain PyTorch.

    terra run --as-torch examples/word_lm.py [--data FILE]     # Terra
    python3 examples/word_lm.py [--data FILE]                  # the same script on PyTorch

The text (by default the GPL text every Debian system ships; ../shared/data/wikitext-2/valid.txt
in this repository's CI) is split into words, the most frequent --vocab words kept (the rest
become <unk>), and a 2-layer LSTM learns to predict the next word with truncated backpropagation
through time, as in PyTorch's word_language_model example.
"""
import argparse
import collections
import math
import time

import torch
import torch.nn as nn

DEFAULT_TEXT = "/usr/share/common-licenses/GPL-3"


class WordLM(nn.Module):
    def __init__(self, vocab, embed=128, hidden=128, layers=2, dropout=0.2):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(vocab, embed)
        self.rnn = nn.LSTM(embed, hidden, layers, dropout=dropout)
        self.decoder = nn.Linear(hidden, vocab)
        self.encoder.weight.data.uniform_(-0.1, 0.1)
        self.decoder.weight.data.uniform_(-0.1, 0.1)
        self.decoder.bias.data.zero_()

    def forward(self, tokens, state):
        out, state = self.rnn(self.drop(self.encoder(tokens)), state)
        return self.decoder(self.drop(out)), state


def tokenize(path, vocab_size):
    with open(path, encoding="utf-8", errors="replace") as f:
        words = [w for line in f for w in line.split() + ["<eos>"]]
    common = [w for w, _ in collections.Counter(words).most_common(vocab_size - 1)]
    index = {w: i for i, w in enumerate(common)}
    unk = len(common)
    return torch.tensor([index.get(w, unk) for w in words], dtype=torch.int64), len(common) + 1


def batchify(ids, batch):
    n = ids.numel() // batch
    return ids[: n * batch].view(batch, n).t().contiguous()  # (time, batch)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_TEXT, help="a text file (default: %(default)s)")
    parser.add_argument("--vocab", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--bptt", type=int, default=35)
    parser.add_argument("--lr", type=float, default=20.0)
    parser.add_argument("--clip", type=float, default=0.25)
    parser.add_argument("--steps", type=int, default=200, help="training steps (bptt windows)")
    parser.add_argument("--log-interval", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    ids, vocab = tokenize(args.data, args.vocab)
    data = batchify(ids, args.batch_size)
    model = WordLM(vocab)
    criterion = nn.CrossEntropyLoss()
    print(f"{ids.numel()} words, vocabulary {vocab}, {data.shape[0]} time steps x {args.batch_size} streams")
    state = None
    total, start, position = 0.0, time.perf_counter(), 0
    for step in range(1, args.steps + 1):
        if position + 1 + args.bptt > data.shape[0]:
            position, state = 0, None
        inputs = data[position:position + args.bptt]
        targets = data[position + 1:position + 1 + args.bptt].reshape(-1)
        position += args.bptt
        if state is not None:
            state = tuple(s.detach() for s in state)  # truncated backpropagation through time
        model.zero_grad()
        logits, state = model(inputs, state)
        loss = criterion(logits.view(-1, vocab), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-args.lr)
        total += loss.item()
        if step % args.log_interval == 0:
            mean = total / args.log_interval
            elapsed = time.perf_counter() - start
            print(f"step {step:4d}  loss {mean:.3f}  perplexity {math.exp(mean):8.1f}  "
                  f"{args.log_interval / elapsed:.1f} steps/s")
            total, start = 0.0, time.perf_counter()


if __name__ == "__main__":
    main()
